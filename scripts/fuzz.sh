#!/usr/bin/env bash
# Runs every fuzz target for the given number of inputs each (default
# 200000x). A count, not a duration: with a duration, Go 1.26's fuzzing
# coordinator can report its own deadline as a failure of the target when
# a worker is still busy as the time runs out (golang/go#75804, fixed in
# Go 1.27). A real failure still writes its input to testdata/fuzz.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-200000x}
grep -rl --include='*_test.go' '^func Fuzz' pkg services | while read -r file; do
	dir=$(dirname "$file")
	for target in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$file" | sed 's/^func //'); do
		echo "fuzzing $target in $dir for $fuzztime"
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "./$dir"
	done
done
