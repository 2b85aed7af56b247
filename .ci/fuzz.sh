#!/usr/bin/env bash
# Runs every fuzz target of the module for a short time ($1, default 10s)
# on top of its committed seed corpus (testdata/fuzz/<Name>/).
set -euo pipefail
cd "$(dirname "$0")/.."
t="${1:-10s}"
fail=0
for pkg in $(go list ./...); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	for name in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
		echo "fuzz: $pkg $name ($t)"
		# A short minimisation budget: by default the fuzzer can spend the
		# whole run minimising new inputs of large formats (npz,
		# checkpoints) and execute only a handful of them.
		if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$t" -fuzzminimizetime 1s "$pkg"; then
			fail=1
		fi
	done
done
exit $fail
