#!/usr/bin/env bash
# Run a command and print its wall time, CPU time and peak RSS, split into
# the anonymous part (heap, stacks) and the file-backed part (the binary's
# mapped pages), polled from /proc every 20 ms. ru_maxrss alone cannot
# tell the two apart, and the file-backed part varies with the binary's
# size and the page cache.
#
#   scripts/peak-rss.sh bin/corpus-audit run --corpus ... --out /tmp/out
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
/usr/bin/time -f "%e %U %S %M" -o "$tmp" "$@" >/dev/null 2>&1 &
pid=$!
anon=0 file=0
# The child of time(1) is the command itself.
while kill -0 "$pid" 2>/dev/null; do
  child=$(pgrep -P "$pid" | head -1 || true)
  if [ -n "$child" ] && [ -r "/proc/$child/status" ]; then
    read -r a f < <(awk '/^RssAnon/{a=$2} /^RssFile/{f=$2} END{print a+0, f+0}' "/proc/$child/status" 2>/dev/null || echo "0 0")
    [ "$a" -gt "$anon" ] && anon=$a
    [ "$f" -gt "$file" ] && file=$f
  fi
  sleep 0.02
done
rc=0
wait "$pid" || rc=$?
# time(1) writes "Command exited with non-zero status N" first when the
# command fails; the figures are on the last line.
read -r wall user sys maxrss < <(tail -n 1 "$tmp") || true
if [ -z "${maxrss:-}" ]; then
  cat "$tmp" >&2
  exit 1
fi
awk -v rc="$rc" -v wall="$wall" -v user="$user" -v sys="$sys" -v max="$maxrss" -v anon="$anon" -v file="$file" 'BEGIN {
  printf "exit %d, wall %s s, CPU %.2f s, peak RSS %d KiB (anonymous %d KiB, file-backed %d KiB)\n", rc, wall, user + sys, max, anon, file
}'
exit "$rc"
