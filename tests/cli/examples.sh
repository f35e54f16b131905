#!/usr/bin/env bash
# Every shipped experiment, EPP config, sweep spec and scenario validates:
# `eppsim config` on each experiment, `eppsim sweep --check` on each spec,
# `eppsim explain` with each EPP config on the explain example state.
set -euo pipefail
eppsim="$1"
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
fail=0 n=0
check() { n=$((n + 1)); if ! "$@" > /dev/null 2> /tmp/eppsim-examples-err.$$; then echo "FAIL: $*"; cat /tmp/eppsim-examples-err.$$; fail=1; fi; }
for f in examples/*.yaml examples/scenarios/*/experiment*.yaml results/baselines/*.yaml; do
  [ -e "$f" ] || continue
  check "$eppsim" config "$f"
done
for f in examples/scenarios/*/sweep*.yaml docs/studies/*/*.yaml; do
  [ -e "$f" ] || continue
  grep -q '^base:' "$f" || continue
  check "$eppsim" sweep "$f" --check -q
done
for f in examples/epp-configs/*.yaml; do
  check "$eppsim" explain --epp-config "$f" --state docs/explain-example/state.json
done
rm -f /tmp/eppsim-examples-err.$$
echo "$n example files checked"
[ $fail = 0 ] && echo "$n passed, 0 failed" || { echo "some example failed"; exit 1; }
