#!/usr/bin/env bash
# Any model: an experiment with a config.json model on a datasheet GPU runs
# the analytic step model and says so (terminal and summary.json); a profile
# run's summary has no step_model key (it stays byte-identical); bench
# steptime --model-config prints the 9 steps; --fit prints a coefficient block.
set -euo pipefail
eppsim="$(realpath "$1")"
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
W=$(mktemp -d /tmp/eppsim-anymodel-XXXXXX)
trap 'rm -rf "$W"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$eppsim" run examples/any-model.yaml --no-plots -o "$W/a" > "$W/a.txt" 2>&1 || fail "any-model run"
grep -q "step model:\? *analytic (examples/models/qwen3-14b.json on a100-sxm-80gb" "$W/a.txt" || fail "terminal step model line"
python3 - "$W/a/summary.json" <<'PY' || fail "summary step_model"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["step_model"]["kind"] == "analytic", s.get("step_model")
assert s["step_model"]["coefficients"] == "data/steptime-coeffs.yaml"
assert s["requests"]["completed"] == 600
PY
# the same model from another folder: the path resolves against the experiment file
mkdir -p "$W/exp/models"
cp examples/models/qwen3-14b.json "$W/exp/models/"
sed 's/num_requests: 600/num_requests: 20/' examples/any-model.yaml > "$W/exp/e.yaml"
(cd / && "$eppsim" run "$W/exp/e.yaml" -q --no-plots -o "$W/b") || fail "relative model path"

"$eppsim" run -q --no-plots -o "$W/p" > /dev/null 2>&1 || fail "profile run"
! grep -q '"step_model"' "$W/p/summary.json" || fail "profile run writes step_model"

"$eppsim" bench steptime --model-config tests/data/models/mixtral-8x7b.json --tp 2 --json > "$W/s.json" || fail "bench"
python3 - "$W/s.json" <<'PY' || fail "bench steptime --model-config json"
import json, sys
s = json.load(open(sys.argv[1]))
assert len(s["points"]) == 9 and s["tp"] == 2 and s["step_model"] == "analytic"
d = {p["step"]: p["total_us"] for p in s["points"]}
assert d["decode B=1 @1k"] < d["decode B=32 @1k"] < d["decode B=128 @1k"]
assert d["prefill 512"] < d["prefill 2048"] < d["prefill 8192"]
assert all(p["comm_us"] > 0 for p in s["points"])
PY
"$eppsim" bench steptime --model-config tests/data/models/llama-2-7b.json --gpu b200 | grep -q "decode B=128 @4k" || fail "bench text"
"$eppsim" bench steptime --fit | grep -q "^  gemm_efficiency: " || fail "bench --fit"
"$eppsim" bench steptime --fit-gpu h100-sxm-80gb | grep -q "held out (llama-3.1-8b, other GPU) n=10" || fail "bench --fit-gpu"
# --step evaluates one composition of a config.json model through the same model the server runs
us=$("$eppsim" bench steptime --step 0,0,32,1024 --gpu a100-sxm-80gb --model tests/data/models/llama-2-7b.json --overhead-us 0)
python3 -c "import sys; v = float(sys.argv[1]); assert 8000 < v < 40000, v" "$us" || fail "bench --step with a config.json model: $us"
if "$eppsim" bench steptime --model-config tests/data/models/llama-2-7b.json --gpu tpu9 2> "$W/e.txt"; then fail "unknown GPU accepted"; fi
grep -q 'no profile or datasheet GPU "tpu9"' "$W/e.txt" || fail "unknown GPU message"
echo "any-model: all checks passed"
