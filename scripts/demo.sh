#!/usr/bin/env bash
# The README's first command (`make demo`): generate a small synthetic lake
# under demo/, audit it, and say where the findings and summary are.
set -euo pipefail
cd "$(dirname "$0")/.."
lake=demo/lake
out=demo/out
rm -rf "$lake" "$out"
echo "== generating a synthetic lake in $lake"
bin/lakegen -out "$lake" -seed 1 -rows 200000 -files 4 -accounts 20000
snap=$(cd "$lake/corpus" && ls -d snapshot=* | head -n1)
echo "== auditing $lake/corpus/$snap"
set +e
bin/corpus-audit run \
  --corpus "$lake/corpus/$snap" \
  --ages "$lake/tables/ages" \
  --objections "$lake/tables/objections" \
  --links "$lake/tables/links" \
  --out "$out"
code=$?
set -e
echo
case $code in
  0) echo "== audit complete: clean (exit 0)" ;;
  1) echo "== audit complete: findings written (exit 1 — expected: the demo lake has planted leaks)" ;;
  *) echo "== audit FAILED (exit $code): see $out/summary.json"; exit "$code" ;;
esac
echo "summary:  $out/summary.json"
echo "findings: $out/findings/"
echo "truth:    $lake/truth/ (what the generator planted)"
