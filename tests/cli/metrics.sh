#!/usr/bin/env bash
# `eppsim serve`'s /metrics parsed with python3-prometheus-client
# (text_string_to_metric_families), as a Prometheus scraper reads it.
# tests/cli/metrics.sh EPPSIM
set -uo pipefail
EPPSIM=$(realpath "$1")
. "$(dirname "$0")/lib.sh"
W=$(mktemp -d /tmp/eppsim-cli-metrics-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$W"; }
trap cleanup EXIT
cd "$W"
PY=
for p in python3 /usr/bin/python3; do
  if "$p" -c 'import prometheus_client' 2>/dev/null; then PY=$p; break; fi
done
[ -n "$PY" ] || { echo "FAIL: python3-prometheus-client missing (scripts/install-deps installs it)"; exit 1; }
command -v curl >/dev/null || { echo "FAIL: curl missing (scripts/install-deps installs it)"; exit 1; }
"$EPPSIM" serve --pods 1 --port 0 --time-scale 10 >s.out 2>s.err &
pids+=($!)
wait_lines s.out '^pod ' 1
P=$(awk '$1=="pod" && $3=="port" {print $4}' s.out)
[ -n "$P" ] || { echo "FAIL: serve did not start: $(cat s.err)"; exit 1; }
long=$(printf 'the same prompt, %03d; ' $(seq 1 20))   # 400 bytes: 100 stand-in tokens, 6 full blocks
for i in 1 2 3; do
  curl -s "http://127.0.0.1:$P/v1/completions" -d "{\"prompt\":\"$long\",\"max_tokens\":20}" >/dev/null
done
curl -s "http://127.0.0.1:$P/metrics" > m.txt
"$PY" - m.txt <<'PY' || { echo "FAIL: /metrics does not parse as vLLM's"; exit 1; }
import sys
from prometheus_client.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
def one(name, suffix=""):
    s = [x for x in fams[name].samples if x.name == name + suffix]
    assert len(s) == 1, (name, s)
    assert s[0].labels.get("model_name") == "meta-llama/Llama-3.1-8B-Instruct" and s[0].labels.get("engine") == "0", s[0].labels
    return s[0].value
# gauges and counters (the client strips _total from a counter family's name)
assert fams["vllm:num_requests_running"].type == "gauge"
assert one("vllm:num_requests_running") == 0 and one("vllm:num_requests_waiting") == 0
assert 0 <= one("vllm:kv_cache_usage_perc") <= 1
assert fams["vllm:request_success"].type == "counter" and one("vllm:request_success", "_total") == 3
assert one("vllm:generation_tokens", "_total") == 60
q, h = one("vllm:prefix_cache_queries", "_total"), one("vllm:prefix_cache_hits", "_total")
assert q > 0 and 0 < h <= q, (q, h)
# histograms: cumulative buckets ending in +Inf == count
for name in ("vllm:time_to_first_token_seconds", "vllm:inter_token_latency_seconds"):
    f = fams[name]
    assert f.type == "histogram", f.type
    b = [s for s in f.samples if s.name == name + "_bucket"]
    assert b[-1].labels["le"] == "+Inf"
    vals = [s.value for s in b]
    assert vals == sorted(vals), name
    cnt = [s.value for s in f.samples if s.name == name + "_count"][0]
    assert vals[-1] == cnt, (name, vals[-1], cnt)
assert [s.value for s in fams["vllm:time_to_first_token_seconds"].samples if s.name.endswith("_count")][0] == 3
ci = fams["vllm:cache_config_info"].samples[0]
assert ci.labels["block_size"] == "16" and int(ci.labels["num_gpu_blocks"]) > 0, ci.labels
print("families:", len(fams))
PY
echo "all metrics checks passed"
