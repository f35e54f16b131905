#!/usr/bin/env bash
# The predicted-latency family end to end: llm-d-router v0.10.0's well-known
# "predicted-latency-slo" config on a workload whose classes carry SLOs; the
# run reports the predictor's MAPE (summary.json latency_predictor and the
# terminal), is byte-identical for a seed and under `eppsim sweep` -j 1 / -j 2,
# explain shows predictions and the admitter's refusal, and a bad SLO is
# refused naming its key.
#   tests/cli/predicted_latency.sh EPPSIM
set -uo pipefail
EPPSIM=$(realpath "$1")
SRC=$(cd "$(dirname "$0")/../.." && pwd)
W=$(mktemp -d /tmp/eppsim-cli-predlat-XXXXXX)
trap 'rm -rf "$W"' EXIT
cd "$W"
fails=0
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
CFG="$SRC/tests/upstream/configs/integration-wellknown-predicted-latency-slo.yaml"
cat > exp.yaml <<YAML
name: predlat
seed: 3
cluster: {replicas: 3}
epp: {config_file: $CFG}
workload:
  num_requests: 400
  arrival: {process: poisson, rate: 25}
  shared_prefix: {num_groups: 4, system_prompt_len: 800, question_len: 200, output_len: 60}
  mix:
    objectives:
    - {name: interactive, priority: 0, weight: 0.5, slo_ttft_ms: 150, slo_tpot_ms: 15}
    - {name: batch, priority: -1, weight: 0.5, slo_ttft_ms: 2000, slo_tpot_ms: 60}
YAML
"$EPPSIM" run exp.yaml --no-plots -o a > a.out 2>&1 || { fail "run a"; cat a.out; }
"$EPPSIM" run exp.yaml -q --no-plots -o b || fail "run b"
diff -r -q -x run-info.json -x plots a b >/dev/null || fail "same seed differs: $(diff -r -q -x run-info.json a b | head -3)"
python3 - a/summary.json <<'PY' || fail "summary.json latency_predictor"
import json, sys
s = json.load(open(sys.argv[1]))
lp = s["latency_predictor"]
assert lp["ttft_n"] > 300 and lp["tpot_n"] > 300, lp
assert 0 < lp["ttft_mape_pct"] < 1000 and 0 < lp["tpot_mape_pct"] < 1000, lp
assert lp["retrains"] >= 1 and lp["training_samples_ttft"] >= lp["ttft_n"], lp
PY
grep -q "latency predictor: TTFT MAPE" a.out || fail "terminal summary lacks the predictor line"
# a config without the family writes no latency_predictor block
sed 's|epp: {config_file: .*}|epp: {}|' exp.yaml > plain.yaml
"$EPPSIM" run plain.yaml -q --no-plots -o p || fail "run plain"
grep -q latency_predictor p/summary.json && fail "latency_predictor without a producer"
# sweeps: -j 1 and -j 2 give the same directories
cat > sweep.yaml <<YAML
base: exp.yaml
seeds: [3, 4]
grid: {workload.arrival.rate: [20, 30]}
metrics: [latency_predictor.ttft_mape_pct, latency_predictor.tpot_mape_pct, latency_ms.ttft.p99]
YAML
if "$EPPSIM" sweep sweep.yaml -q -j 1 -o s1 >sw1.out 2>&1 && "$EPPSIM" sweep sweep.yaml -q -j 2 -o s2 >sw2.out 2>&1; then
  diff -r -q -x run-info.json -x plots -x 'sweep-info.json' s1 s2 >/dev/null || fail "sweep -j1/-j2 differ: $(diff -r -q -x run-info.json s1 s2 | head -3)"
  grep -q ttft_mape_pct s1/sweep.csv || fail "sweep.csv lacks the MAPE column"
else fail "sweep: $(cat sw1.out sw2.out | tail -3)"; fi
# explain: predictions, and the admitter refusing a sheddable request no pod can serve in SLO
cat > state.json <<'JSON'
{"now_ms": 1000,
 "endpoints": [
  {"name": "pod1", "address": "10.0.0.1:8000", "metrics": {"waiting": 0, "running": 2, "kv_cache_usage": 0.3, "age_ms": 10}},
  {"name": "pod2", "address": "10.0.0.2:8000", "metrics": {"waiting": 1, "running": 3, "kv_cache_usage": 0.5, "age_ms": 10}}],
 "history": [],
 "request": {"model": "m", "prompt": "Hello there", "priority": -1,
             "headers": {"x-llm-d-slo-ttft-ms": "5", "x-llm-d-slo-tpot-ms": "20"}}}
JSON
"$EPPSIM" explain --epp-config "$CFG" --state state.json > ex.out 2>/dev/null
grep -q "no valid endpoint available to serve the request" ex.out || fail "explain: no admitter refusal: $(head -3 ex.out)"
grep -q "latency predictions" ex.out || fail "explain: no predictions table"
"$EPPSIM" explain --epp-config "$CFG" --state state.json --json 2>/dev/null | python3 -c '
import json, sys
j = json.load(sys.stdin)
p = j["predictions"]["pod1"]
assert j["outcome"] == 500 and p["ttft_ms"] == 10 and p["ttft_headroom_ms"] == -5 and p["within_slo"] is False, j
' || fail "explain --json predictions"
# the sidecar's settings: retraining every 1800 s (its own default) trains once in this run
"$EPPSIM" run exp.yaml -q --no-plots -o r1800 --set epp.predictor_retraining_interval_s=1800 || fail "run 1800"
python3 -c 'import json,sys; lp=json.load(open(sys.argv[1]))["latency_predictor"]; assert lp["retrains"] == 1, lp' r1800/summary.json || fail "predictor_retraining_interval_s"
"$EPPSIM" run exp.yaml -q --no-plots -o rq --set epp.predictor_objective=quantile || fail "run quantile"
cmp -s a/requests.csv rq/requests.csv && fail "the quantile objective changed nothing"
# a bad SLO names the key
sed 's/slo_ttft_ms: 150/slo_ttft_ms: -1/' exp.yaml > bad.yaml
"$EPPSIM" run bad.yaml -q --no-plots -o bad > bad.out 2>&1; rc=$?
[ $rc = 2 ] && grep -q "workload.mix.objectives\[0\].slo_ttft_ms" bad.out || fail "bad SLO: rc=$rc $(cat bad.out)"
[ $fails -eq 0 ] && echo "ok   predicted-latency: runs, reports MAPE, deterministic (run and sweep -j1/-j2), explain shows predictions and admissions"
exit $fails
