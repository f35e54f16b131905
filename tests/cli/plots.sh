#!/usr/bin/env bash
# The plots of a run: every pod is in pod_share (3 pods show 3), gnuplot's
# warnings stay off the terminal, report.md links the plots that exist, the
# plot scripts answer --help without writing anything.
#   tests/cli/plots.sh EPPSIM
set -uo pipefail
EPPSIM=$(realpath "$1")
SRC=$(cd "$(dirname "$0")/../.." && pwd)
W=$(mktemp -d /tmp/eppsim-cli-plots-XXXXXX)
trap 'rm -rf "$W"' EXIT
cd "$W"
fails=0
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
for s in plot-run plot-sweep plot-compare gen-trace gen-config-doc; do
  (cd "$W" && "$SRC/scripts/$s" --help > help.txt 2>&1) || fail "$s --help exits non-zero"
  grep -qi usage help.txt || grep -q "$s" help.txt || grep -q . help.txt || fail "$s --help prints nothing"
  rm -f help.txt
  [ -z "$(ls -A "$W")" ] || { fail "$s --help wrote $(ls -A "$W")"; rm -rf "${W:?}"/*; }
done
if ! command -v gnuplot > /dev/null; then echo "plots: gnuplot not installed, plot checks skipped"; echo "plots: $fails failed"; [ "$fails" = 0 ]; exit; fi
printf 'name: plots\ncluster: {replicas: 3}\nworkload: {num_requests: 200}\n' > exp.yaml
"$EPPSIM" run exp.yaml -o r > out.txt 2> err.txt || fail "run failed: $(cat err.txt)"
grep -v '^eppsim: running' err.txt | grep -q . && fail "the run's stderr is not clean: $(cat err.txt)"
for i in 0 1 2; do
  grep -q "vllm-llama-3.1-8b-$i<" r/plots/pod_share.svg || fail "pod_share leaves out pod $i"
done
for f in latency_cdf ttft_over_time hit_rates pod_waiting pod_kv_usage pod_share; do
  [ -f "r/plots/$f.png" ] || fail "no plots/$f.png"
  grep -q "](plots/$f.png)" r/report.md || fail "report.md does not link $f"
done
# a count axis has whole-number tics (gnuplot's own step under ~10 is 0.5 or 0.2)
grep -q '<text> -\{0,1\}[0-9]*\.[0-9]*</text>' r/plots/pod_waiting.svg &&
  fail "pod_waiting has fractional tics: $(grep -o '<text> [0-9]*\.[0-9]*</text>' r/plots/pod_waiting.svg | head -3 | tr '\n' ' ')"
# the hit-rate bins are sized to the run: at most 60 of them
bin=$(grep -o 'hit rate over time, [0-9.]* s bins' r/plots/hit_rates.svg | grep -o '[0-9.]* s' | cut -d' ' -f1)
span=$(tail -1 r/timeseries.csv | cut -d, -f1)
[ -n "$bin" ] && awk -v b="$bin" -v s="$span" 'BEGIN { exit !(s / b <= 60 && s / b >= 12) }' ||
  fail "hit_rates: bins of '$bin' s for a $span s run"

# a sweep written as a `points:` list: bars labelled by each point's values,
# no one-cell heat map; the sweep ends with its results table
cat > sw.yaml <<'YAML'
base: {name: wl, cluster: {replicas: 2}, workload: {num_requests: 60}, results: {plots: false}}
points:
  - {epp.weights.queue-scorer: 2, epp.weights.prefix-cache-scorer: 3}
  - {epp.weights.queue-scorer: 1, epp.weights.prefix-cache-scorer: 0}
seeds: 2
YAML
"$EPPSIM" sweep sw.yaml -o sw -j 1 > sweep-out.txt 2> sweep-err.txt || fail "sweep failed: $(cat sweep-err.txt)"
grep -q '^    1     2 .*epp.weights.queue-scorer=1, epp.weights.prefix-cache-scorer=0$' sweep-out.txt ||
  fail "the sweep does not end with its results table: $(cat sweep-out.txt)"
grep -q 'e+0' sweep-out.txt && fail "the results table uses exponent notation"
"$SRC/scripts/plot-sweep" sw > ps-out.txt 2> ps-err.txt || fail "plot-sweep failed: $(cat ps-err.txt)"
[ -s ps-err.txt ] && fail "plot-sweep printed warnings: $(cat ps-err.txt)"
ls sw/plots/heatmap_* > /dev/null 2>&1 && fail "plot-sweep drew a heat map of a points list"
[ -f sw/plots/points_latency_ms_ttft_p99.svg ] || fail "plot-sweep drew no bars for a points list"
grep -q 'queue 1, prefix-cache 0<' sw/plots/points_latency_ms_ttft_p99.svg || fail "bars not labelled by the point's values"
grep -l 'e+0' sw/plots/points_*.svg > /dev/null 2>&1 && fail "sweep bars use exponent notation: $(grep -l 'e+0' sw/plots/points_*.svg)"
"$SRC/scripts/plot-compare" -o cmp sw/points/0-seed1 sw/points/1-seed1 > /dev/null 2> pc-err.txt || fail "plot-compare failed: $(cat pc-err.txt)"
[ -s pc-err.txt ] && fail "plot-compare printed warnings: $(cat pc-err.txt)"
grep -q 'queue-scorer=1, prefix-cache-scorer=0 (seed 1)<' cmp/compare_latency.svg || fail "plot-compare does not label sweep points by their values"
grep -q '>0-seed1<' cmp/compare_latency.svg && fail "plot-compare labels a point by its directory"
# no directory name or label becomes gnuplot code
evil="r'; system(\"touch PWNED\"); '"
cp -r r "$evil"
"$SRC/scripts/plot-compare" -o cmp2 r "$evil" > /dev/null 2> pc2-err.txt || fail "plot-compare on an odd name: $(cat pc2-err.txt)"
[ -e PWNED ] && fail "plot-compare ran a directory name as gnuplot code"
# two runs of one experiment (a base and a change) are told apart by their
# directories: all runs of one experiment are labelled by the directory alone,
# a run beside another experiment's by "experiment (directory)"
cp -r r r-changed
"$SRC/scripts/plot-compare" -o cmp3 r r-changed > /dev/null 2> pc3-err.txt || fail "plot-compare r r-changed: $(cat pc3-err.txt)"
grep -q '>r<' cmp3/compare_latency.svg && grep -q '>r-changed<' cmp3/compare_latency.svg ||
  fail "plot-compare gives two runs of one experiment the same label"
"$SRC/scripts/plot-compare" -o cmp4 r r-changed sw/points/0-seed1 > /dev/null 2> pc4-err.txt || fail "plot-compare r r-changed point: $(cat pc4-err.txt)"
grep -q 'plots (r)<' cmp4/compare_latency.svg && grep -q 'plots (r-changed)<' cmp4/compare_latency.svg ||
  fail "plot-compare beside another run: runs of one experiment not labelled 'experiment (directory)'"
# a grid: heat map and rate curves; a swept value is never gnuplot code
cat > grid.yaml <<'YAML'
base: {name: g, cluster: {replicas: 2}, workload: {num_requests: 30}, results: {plots: false}}
grid:
  name: ["plain", "odd'; system(\"touch PWNED2\"); '"]
  workload.arrival.rate: [5, 10]
YAML
"$EPPSIM" sweep grid.yaml -o grid -j 1 -q > /dev/null 2>&1 || fail "grid sweep failed"
"$SRC/scripts/plot-sweep" grid --rate workload.arrival.rate > /dev/null 2> pg-err.txt || fail "plot-sweep on a grid: $(cat pg-err.txt)"
[ -s pg-err.txt ] && fail "plot-sweep (grid) printed warnings: $(cat pg-err.txt)"
[ -f grid/plots/heatmap_latency_ms_ttft_p99.svg ] && [ -f grid/plots/rate_latency_ms_ttft_p99.svg ] || fail "no heat map or rate plot for a grid"
[ -e PWNED2 ] && fail "plot-sweep ran a swept value as gnuplot code"
echo "plots: $fails failed"
[ "$fails" = 0 ]
