package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/anogo/anogo/datasets/patch"
	"github.com/anogo/anogo/sdk/anogan"
	"github.com/anogo/anogo/sdk/data"
	"github.com/anogo/anogo/sdk/prep"
)

// noArgs refuses words left after the flags: Go's flag package stops at the
// first non-flag, so a stray word would silently drop every later flag.
func noArgs(fs *flag.FlagSet) error {
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q: flags must come before it, and nothing after them (every later flag would be ignored)", fs.Name(), fs.Arg(0))
	}
	return nil
}

// checkOutput refuses an output path that is not a regular file (a device,
// a FIFO, a directory), that is one of the inputs, or whose directory does
// not exist, before any work is done.
func checkOutput(flagName, path string, inputs ...string) error {
	if path == "" {
		return nil
	}
	abs := func(p string) string {
		a, err := filepath.Abs(p)
		if err != nil {
			return filepath.Clean(p)
		}
		if r, err := filepath.EvalSymlinks(a); err == nil {
			return r
		}
		return a
	}
	for _, in := range inputs {
		if in != "" && abs(in) == abs(path) {
			return fmt.Errorf("-%s %s is also an input; it would be overwritten: choose another output", flagName, path)
		}
	}
	if fi, err := os.Stat(path); err == nil {
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("-%s %s exists and is not a regular file (%v); refusing to replace it", flagName, path, fi.Mode().Type())
		}
	} else if !os.IsNotExist(err) {
		return fmt.Errorf("-%s %s: %w", flagName, path, err)
	}
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("-%s %s: directory %s does not exist", flagName, path, dir)
	}
	f, err := os.CreateTemp(dir, ".anogo-write-check-*")
	if err != nil {
		return fmt.Errorf("-%s %s: directory %s is not writable: %w", flagName, path, dir, err)
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// finite refuses NaN and infinite values of numeric flags.
func finite(values map[string]float64) error {
	for name, v := range values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("-%s %v: want a finite number", name, v)
		}
	}
	return nil
}

// counts refuses integer flags below least (0 for counts and sizes, -1
// where -1 means "the setting's"), in name order.
func counts(values map[string]int, least int) error {
	names := make([]string, 0, len(values))
	for n := range values {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if v := values[n]; v < least {
			return fmt.Errorf("-%s %d: want %d or more", n, v, least)
		}
	}
	return nil
}

// perImageBound refuses -per-image above patch.MaxK.
func perImageBound(n int) error {
	if n > patch.MaxK {
		return &data.LimitError{What: "-per-image", N: int64(n), Limit: patch.MaxK, Unit: "patches per image"}
	}
	return nil
}

// resumeHint returns the command line that continues an interrupted
// training: args with any -resume flag replaced by "-resume ckpt".
func resumeHint(cmd string, args []string, ckpt string) string {
	out := []string{"anogo", cmd}
	for i := 0; i < len(args); i++ {
		a := strings.TrimLeft(args[i], "-")
		switch {
		case a == "resume" && strings.HasPrefix(args[i], "-"):
			i++ // its value
			continue
		case strings.HasPrefix(a, "resume=") && strings.HasPrefix(args[i], "-"):
			continue
		}
		out = append(out, quoteArg(args[i]))
	}
	return strings.Join(append(out, "-resume", quoteArg(ckpt)), " ")
}

// quoteArg quotes a word for a POSIX shell when it needs it.
func quoteArg(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '-' || r == '_' || r == '.' || r == '/' || r == ':' || r == '=' || r == ',' || r == '+' ||
			'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9')
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// prepareOnly prepares one side of cfg's data (prep.Config.Only): a
// training needs no test split, scoring no training split. A Ctrl-C while
// the data load stops it between two samples.
func prepareOnly(ctx context.Context, cfg anogan.Config, only string) (*anogan.Data, error) {
	p := cfg.Prep()
	p.Only = only
	return prep.PrepareContext(ctx, p)
}
