package data

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ErrLimit is wrapped by every LimitError, for callers that test whether
// input was refused for its size (errors.Is(err, data.ErrLimit)).
var ErrLimit = errors.New("over a limit")

// LimitError reports input that would make anogo allocate more than a
// bound allows: What names the file or flag, N is what it asks for, Limit
// the bound, Env the environment variable that raises it (and Var the Go
// variable, for programs that set it directly).
type LimitError struct {
	What     string
	N, Limit int64
	Unit     string
	Env, Var string
}

func (e *LimitError) Error() string {
	s := fmt.Sprintf("%s: %d %s, more than the limit of %d", e.What, e.N, e.Unit, e.Limit)
	switch {
	case e.Env != "" && e.Var != "":
		s += fmt.Sprintf(" (raise it with the environment variable %s, or %s in Go)", e.Env, e.Var)
	case e.Env != "":
		s += fmt.Sprintf(" (raise it with the environment variable %s)", e.Env)
	case e.Var != "":
		s += fmt.Sprintf(" (%s)", e.Var)
	}
	return s
}

// Unwrap makes errors.Is(err, ErrLimit) true.
func (e *LimitError) Unwrap() error { return ErrLimit }

// EnvLimit returns the bound held by the environment variable env when it
// is set to a positive integer (digits, optionally with a K, M or G suffix
// for powers of 1024), else def. A value that is set but not a positive
// integer is reported on stderr and def is used, so a typo does not pass
// silently. Packages initialise their limit variables with it, so both a
// user (through the environment) and a program (through the variable) can
// raise a bound.
func EnvLimit(env string, def int64) int64 {
	v, ok := os.LookupEnv(env)
	if !ok || strings.TrimSpace(v) == "" {
		return def
	}
	n, err := parseLimit(v)
	if err != nil {
		fmt.Fprintf(os.Stderr, "anogo: %s=%q is not a positive integer (%v); using %d\n", env, v, err, def)
		return def
	}
	return n
}

func parseLimit(v string) (int64, error) {
	v = strings.TrimSpace(v)
	mul := int64(1)
	switch strings.ToUpper(v[len(v)-1:]) {
	case "K":
		mul = 1 << 10
	case "M":
		mul = 1 << 20
	case "G":
		mul = 1 << 30
	}
	if mul > 1 {
		v = v[:len(v)-1]
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, err
	}
	if n <= 0 || n > (1<<62)/mul {
		return 0, fmt.Errorf("out of range")
	}
	return n * mul, nil
}
