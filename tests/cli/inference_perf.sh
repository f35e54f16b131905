#!/usr/bin/env bash
# eppsim run --inference-perf: a late-2025 results/config.yaml replays as it
# ran (stages drain, then wait `interval`; client-side metrics with two stamps
# per token), the profile with current-schema keys replays 10 x 10 single
# turn under the 2025-10 build (with warnings), and the run is deterministic.
set -euo pipefail
EPPSIM=$(realpath "$1")
SRC=$(cd "$(dirname "$0")/../.." && pwd)
W=$(mktemp -d /tmp/eppsim-cli-ip-XXXXXX)
trap 'rm -rf "$W"' EXIT
cd "$W"
printf 'name: ip\nserver: {gpu: h100-sxm-80gb, model: llama-3.1-8b}\ncluster: {replicas: 1}\n' > exp.yaml
fail() { echo "FAIL: $*"; exit 1; }
"$EPPSIM" run exp.yaml --inference-perf "$SRC/tests/data/inference-perf/late-2025-run.yaml" \
  --inference-perf-version 2025-10 -o a --no-plots > a.out 2> a.err || fail "run: $(cat a.err)"
grep -q "client-side, as inference-perf 2025-10" a.out || fail "no client table in the terminal"
python3 - a/summary.json <<'PY' || exit 1
import json, sys
s = json.load(open(sys.argv[1]))
st, c = s["stages"], s["client"]
assert s["requests"]["total"] == 40 + 80, s["requests"]
assert abs(st[1]["start_s"] - (st[0]["end_s"] + 1.0)) < 1e-6, (st[0]["end_s"], st[1]["start_s"])
assert c["timestamps_per_token"] == 2 and c["trailing_timestamps"] == 2 and c["timeout_s"] == 300
assert c["successes"] == 120 and c["failures"] == 0
lat = c["latency_ms"]
# TPOT with two stamps per token is about half the real per-token time
ratio = lat["time_per_output_token"]["mean"] / c["per_token_ms"]
assert 0.45 < ratio < 0.52, ratio
assert lat["inter_token_latency"]["p50"] < 0.01, lat["inter_token_latency"]   # the blank-line gaps
assert st[0]["client"]["sent"] == 40 and st[1]["client"]["sent"] == 80
PY
"$EPPSIM" run exp.yaml --inference-perf "$SRC/tests/data/inference-perf/late-2025-run.yaml" \
  --inference-perf-version 2025-10 -o b -q --no-plots
cmp a/summary.json b/summary.json || fail "not deterministic"
cmp a/requests.csv b/requests.csv || fail "not deterministic"
# the profile's current-schema keys: ignored by 2025-10 (10 x 10), read by current (11 x 4 multi-turn)
"$EPPSIM" run exp.yaml --inference-perf "$SRC/tests/data/inference-perf/profile-current-keys.json" \
  --inference-perf-version 2025-10 -o c --no-plots > c.out 2> c.err || fail "$(cat c.err)"
grep -q "num_unique_system_prompts: unknown to inference-perf 2025-10.*used num_groups (default 10)" c.err \
  || fail "no warning: $(cat c.err)"
"$EPPSIM" run exp.yaml --inference-perf "$SRC/tests/data/inference-perf/profile-current-keys.json" \
  -o d -q --no-plots 2> d.err || fail "$(cat d.err)"
python3 - c/summary.json d/summary.json <<'PY' || exit 1
import json, sys
c, d = (json.load(open(p)) for p in sys.argv[1:])
assert c["client"]["timestamps_per_token"] == 2 and d["client"]["timestamps_per_token"] == 1
# multi-turn prompts grow with each round: the current build's mean prompt is longer
assert d["throughput"]["input_tokens_per_s"] > c["throughput"]["input_tokens_per_s"]
PY
# a saved vllm bench serve result: its own lengths, its cap, the chat template
"$EPPSIM" run exp.yaml --vllm-bench "$SRC/tests/data/vllm-bench/result-detailed.json" -o e -q --no-plots 2> e.err \
  || fail "$(cat e.err)"
python3 - e/summary.json <<'PY' || exit 1
import json, sys
s = json.load(open(sys.argv[1]))
c = s["client"]
assert c["name"].startswith("vllm bench serve") and c["timestamps_per_token"] == 1, c["name"]
assert c["sent"] == 4 and c["successes"] == 4 and c["timeout_s"] == 21600
assert s["requests"]["total"] == 4
PY
# an overloaded pod and a 6 s request_timeout: aiohttp fires it at the next whole
# second of its clock (gateway.client_timeout_clock auto = aiohttp), exact on time
cat > ov.yaml <<'YAML'
name: ov
server: {gpu: h100-sxm-80gb, model: llama-3.1-8b, max_num_seqs: 2}
cluster: {replicas: 1}
workload:
  inference_perf:
    config:
      api: {type: completion, streaming: true}
      data: {type: shared_prefix, shared_prefix: {num_groups: 2, num_prompts_per_group: 2, system_prompt_len: 50,
                                                    question_len: 50, output_len: 3000}}
      load: {type: constant, request_timeout: 6, stages: [{rate: 2, duration: 3}]}
YAML
"$EPPSIM" run ov.yaml -o ov1 -q --no-plots 2> ov1.err || fail "$(cat ov1.err)"
printf 'gateway: {client_timeout_clock: exact}\n' >> ov.yaml
"$EPPSIM" run ov.yaml -o ov2 -q --no-plots 2> ov2.err || fail "$(cat ov2.err)"
python3 - ov1/summary.json ov2/summary.json <<'PY' || exit 1
import json, sys
a, b = (json.load(open(f))["client"] for f in sys.argv[1:3])
assert a["failures"] == b["failures"] == 6, (a["failures"], b["failures"])
assert b["failures_request_latency_mean_ms"] == 6000, b["failures_request_latency_mean_ms"]
assert 6000 < a["failures_request_latency_mean_ms"] < 7000, a["failures_request_latency_mean_ms"]
PY
echo "ok"
