#!/usr/bin/env bash
# Run every fuzz target of the module for a while each: scripts/fuzz.sh [DURATION]
# Go runs one fuzz target at a time, so targets are found and run one by one.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-30s}
status=0
while IFS= read -r file; do
  pkg="./$(dirname "$file")"
  for target in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)\(' "$file" | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/'); do
    echo "== $pkg $target ($fuzztime)"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" || status=1
  done
done < <(grep -rl --include='*_test.go' -E '^func Fuzz' . | grep -v '^./bench/' | sed 's|^\./||' | sort)
exit $status
