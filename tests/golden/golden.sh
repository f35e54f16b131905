#!/usr/bin/env bash
# golden.sh check|update EPPSIM : byte-exact golden outputs of a few small
# experiments (tests/golden/cases/<case>/experiment.yaml, seed 1).
#   check   runs every case and compares its summary.json and the first 40
#           lines of requests.csv with tests/golden/cases/<case>/expected/
#   update  rewrites expected/ (only through scripts/update-golden, on purpose)
# summary.json's "events" line is left out: the event count changes with
# performance work that moves no result.
set -u
mode="$1"; bin="$(realpath "$2")"
here="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
fail=0; n=0
for dir in "$here"/cases/*/; do
  case_name="$(basename "$dir")"; n=$((n + 1))
  out="$tmp/$case_name"
  if ! "$bin" run "$dir/experiment.yaml" --seed 1 --no-plots --quiet --out "$out" --force >"$tmp/$case_name.log" 2>&1; then
    echo "FAIL $case_name: eppsim run failed"; sed 's/^/  /' "$tmp/$case_name.log"; fail=1; continue
  fi
  mkdir -p "$tmp/$case_name.got"
  grep -v '^[[:space:]]*"events":' "$out/summary.json" > "$tmp/$case_name.got/summary.json"
  head -n 40 "$out/requests.csv" > "$tmp/$case_name.got/requests.head.csv"
  if [ "$mode" = update ]; then
    mkdir -p "$dir/expected"
    cp "$tmp/$case_name.got/summary.json" "$tmp/$case_name.got/requests.head.csv" "$dir/expected/"
    echo "updated $case_name"
    continue
  fi
  for f in summary.json requests.head.csv; do
    if ! cmp -s "$dir/expected/$f" "$tmp/$case_name.got/$f"; then
      echo "FAIL $case_name: $f differs from tests/golden/cases/$case_name/expected/$f"
      diff "$dir/expected/$f" "$tmp/$case_name.got/$f" | head -20 | sed 's/^/  /'
      fail=1
    fi
  done
  [ $fail = 0 ] && echo "ok   $case_name"
done
if [ "$mode" = check ] && [ $fail != 0 ]; then
  echo "golden outputs changed.  If the change is intended, run scripts/update-golden and say why in the commit."
fi
echo "$n cases"
exit $fail
