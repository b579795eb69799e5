#!/usr/bin/env bash
# Runs every fuzz target for the given number of inputs each (default
# 200000x). A count, not a duration: when a duration runs out, Go 1.26's
# fuzzing coordinator can take its own deadline for a failure of the
# target, a race in how it checks its cancellation (golang/go#75804, fixed
# in Go 1.27). A real failure still writes its input to testdata/fuzz.
set -euo pipefail
cd "$(dirname "$0")/.."
inputs=${1:-200000x}
grep -rl --include='*_test.go' '^func Fuzz' pkg services | while read -r file; do
	dir=$(dirname "$file")
	for target in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$file" | sed 's/^func //'); do
		echo "fuzzing $target in $dir for $inputs"
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$inputs" "./$dir"
	done
done
