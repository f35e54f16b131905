#!/usr/bin/env bash
# The run's summary: the terminal, report.md and summary.json agree (one
# window, stated; the same numbers, ITL included), failures are broken down by
# status, report.md links only plots that exist.
#   tests/cli/summary.sh EPPSIM
set -uo pipefail
EPPSIM=$(realpath "$1")
W=$(mktemp -d /tmp/eppsim-cli-summary-XXXXXX)
trap 'rm -rf "$W"' EXIT
cd "$W"
fails=0
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
# warm-up, cool-down, two stages, and a time limit that leaves requests unfinished
cat > exp.yaml <<'YAML'
name: window
cluster: {replicas: 3}
duration_s: 30
workload:
  num_requests: 2000
  arrival: {stages: [{rate: 5, duration_s: 15}, {rate: 60, duration_s: 30}]}
  shared_prefix: {num_groups: 8, system_prompt_len: 800, question_len: 100, output_len: 200}
results: {warmup_s: 5, cooldown_s: 5}
YAML
"$EPPSIM" run exp.yaml --no-plots -o r > term.txt 2> err.txt || fail "run: $(cat err.txt)"
# the terminal's table is report.md's, line for line
sed -n '/^  \(KV cache\|all requests\)/,/^  see /p' term.txt | grep -v '^  see ' > term-table.txt
sed -n '/^```$/,/^```$/p' r/report.md | grep -v '^```$' > report-table.txt
[ -s term-table.txt ] || fail "no summary table on the terminal"
diff term-table.txt report-table.txt > /dev/null || { fail "terminal and report.md differ"; diff term-table.txt report-table.txt; }
# ... and its numbers are summary.json's
json() { grep -o "\"$1\":[[:space:]]*[0-9.]*" r/summary.json | head -1 | sed 's/.*[[:space:]]//'; }
for k in oracle_hit_rate actual_hit_rate estimated_hit_rate; do
  v=$(json $k)
  want=$(awk -v v="$v" 'BEGIN { printf "%5.1f %%", 100 * v }')
  grep -q -- "$want" term-table.txt || fail "$k $v is not printed as '$want'"
done
p99=$(grep -A8 '"ttft"' r/summary.json | grep -o '"p99":[[:space:]]*[0-9.]*' | sed 's/.*[[:space:]]//')
want=$(awk -v v="$p99" 'BEGIN { printf "%.1f", v }')
grep -E "^  TTFT .* $want\$" term-table.txt > /dev/null || fail "TTFT p99 $p99 is not the table's"
# the window is stated, and the failures broken down
grep -q 'measured window: requests sent in \[5.0 s, .*warm-up 5 s, cool-down 5 s' term-table.txt || fail "window not stated"
grep -qE 'all requests: [0-9]+, [0-9]+ completed, [0-9]+ failed \(unfinished: [0-9]+\)' term-table.txt ||
  fail "failures not broken down by status: $(grep 'all requests' term-table.txt)"
grep -q '^  per stage:' term-table.txt || fail "no per-stage table for a staged load"
for k in 'Request throughput' 'Output token throughput' 'Goodput' 'TTFT' 'TPOT' 'ITL' 'E2E' 'mean     median'; do
  grep -q "$k" term-table.txt || fail "the summary lacks '$k'"
done
# --no-plots: report.md links no image
grep -q '](plots/' r/report.md && fail "report.md links plots that --no-plots did not draw"
# compare: a tolerance for an unknown metric is a usage error naming the known ones
"$EPPSIM" compare r r -t foo=5 > cmp.txt 2> cmp-err.txt; rc=$?
[ $rc = 2 ] || fail "compare -t foo=5 exits $rc, not 2"
grep -q 'tolerance foo: not a compared metric; compared: latency_ms.ttft.p50' cmp-err.txt || fail "compare -t foo: $(cat cmp-err.txt)"
"$EPPSIM" compare r r > cmp.txt 2>&1 || fail "compare r r: $(cat cmp.txt)"
grep -qE 'e[+-][0-9]' cmp.txt && fail "compare prints exponent notation: $(cat cmp.txt)"
grep -qE '^latency_ms.e2e.p99 +[0-9.]+ \[[0-9.]+, [0-9.]+\] ms' cmp.txt || fail "compare: no unit on latencies: $(cat cmp.txt)"
# ITL is over the window's requests too: a load ten times heavier in the
# cool-down must not reach it.  Its gaps are exactly the window's requests'
# (output - 1 each), their mean sum(E2E - TTFT) / gaps (histogram: < 0.5 %)
cat > itl.yaml <<'YAML'
name: itl-window
cluster: {replicas: 1}
workload:
  num_requests: 600
  arrival: {stages: [{rate: 2, duration_s: 100}, {rate: 40, duration_s: 10}]}
  shared_prefix: {num_groups: 4, system_prompt_len: 200, question_len: 100, output_len: 100}
results: {warmup_s: 10, cooldown_s: 10}
YAML
"$EPPSIM" run itl.yaml --no-plots -o itl > /dev/null 2> err.txt || fail "run itl.yaml: $(cat err.txt)"
end=$(grep -o '"window_end_s":[[:space:]]*[0-9.]*' itl/summary.json | sed 's/.*[[:space:]]//')
itl_n=$(grep -A7 '"itl"' itl/summary.json | grep -o '"n":[[:space:]]*[0-9]*' | head -1 | sed 's/.*[[:space:]]//')
itl_mean=$(grep -A7 '"itl"' itl/summary.json | grep -o '"mean":[[:space:]]*[0-9.]*' | head -1 | sed 's/.*[[:space:]]//')
read -r want_n want_mean < <(awk -F, -v w="$end" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
  $c["arrival_s"] >= 10 && $c["arrival_s"] <= w { if ($c["status"] != 200) bad++; if ($c["output_tokens"] > 1) { s += $c["e2e_ms"] - $c["ttft_ms"]; n += $c["output_tokens"] - 1 } }
  END { print n + 0, (n ? s / n : 0); if (bad) exit 1 }' itl/requests.csv) || fail "itl.yaml: a request in the window failed"
[ "$itl_n" = "$want_n" ] || fail "ITL pools $itl_n gaps, the window's requests have $want_n"
awk -v a="$itl_mean" -v b="$want_mean" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(b > 0 && d / b < 0.005) }' ||
  fail "ITL mean $itl_mean ms, the window's requests' mean gap is $want_mean ms"
echo "summary: $fails failed"
[ "$fails" = 0 ]
