#!/usr/bin/env bash
# Runs every fuzz target of the module for a short time ($1, default 10s)
# on top of its committed seed corpus (testdata/fuzz/<Name>/).
set -euo pipefail
# (pipefail: the status of go test, not of tee, decides)
cd "$(dirname "$0")/.."
t="${1:-10s}"
# A target that executes fewer inputs than this in its time does not really
# fuzz (the engine spent it minimising, or each input is too slow): a failure.
min_execs="${FUZZ_MIN_EXECS:-500}"
fail=0
summary=""
for pkg in $(go list ./...); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	for name in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
		echo "fuzz: $pkg $name ($t)"
		# A short minimisation budget: by default the fuzzer can spend the
		# whole run minimising new inputs of large formats (npz,
		# checkpoints) and execute only a handful of them.
		log=$(mktemp)
		if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$t" -fuzzminimizetime 1s "$pkg" 2>&1 | tee "$log"; then
			# The fuzzing engine sometimes stops with "context deadline
			# exceeded" when -fuzztime runs out while it is minimising an
			# input; that is not a failing input (a real one is written to
			# testdata/fuzz and reported as "Failing input"), so run once more.
			if grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input' "$log"; then
				echo "fuzz: $name: the engine timed out while minimising; running it once more"
				go test -run '^$' -fuzz "^${name}\$" -fuzztime "$t" -fuzzminimizetime 1s "$pkg" || fail=1
			else
				fail=1
			fi
		fi
		execs=$(grep -o 'execs: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || true)
		summary+="$name ${execs:-0}"$'\n'
		if [ "${execs:-0}" -lt "$min_execs" ]; then
			echo "fuzz: $name executed ${execs:-0} inputs in $t, fewer than $min_execs: it does not really fuzz"
			fail=1
		fi
		rm -f "$log"
	done
done
echo "fuzz: inputs executed per target in $t:"
printf '%s' "$summary" | sed 's/^/  /'
exit $fail
