package data

import (
	"errors"
	"strings"
	"testing"
)

func TestEnvLimit(t *testing.T) {
	const def = 7
	for i, tc := range []struct {
		env  string
		want int64
	}{
		0: {"", def},
		1: {"12", 12},
		2: {"3K", 3 << 10},
		3: {"2g", 2 << 30},
		4: {"-1", def},
		5: {"lots", def},
		6: {"0", def},
	} {
		t.Setenv("ANOGO_TEST_LIMIT", tc.env)
		if got := EnvLimit("ANOGO_TEST_LIMIT", def); got != tc.want {
			t.Errorf("case %d: %q gives %d, want %d", i, tc.env, got, tc.want)
		}
	}
}

func TestLimitError(t *testing.T) {
	err := error(&LimitError{What: "x.png", N: 9, Limit: 8, Unit: "pixels", Env: "ANOGO_MAX_PIXELS", Var: "folder.MaxPixels"})
	if !errors.Is(err, ErrLimit) {
		t.Error("not ErrLimit")
	}
	for _, want := range []string{"x.png", "9 pixels", "limit of 8", "ANOGO_MAX_PIXELS", "folder.MaxPixels"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
}
