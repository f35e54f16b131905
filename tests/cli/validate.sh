#!/usr/bin/env bash
# `eppsim validate` end to end without the real data: eppsim writes a run as an
# inference-perf result directory, validate replays it and must come back with
# ~0 error; case files, a `vllm bench serve` JSON, the importers, every output
# format, determinism across -j, --tolerance, and input errors.
#   tests/cli/validate.sh EPPSIM
set -uo pipefail
EPPSIM=$(realpath "$1")
SRC=$(cd "$(dirname "$0")/../.." && pwd)
D=$SRC/tests/data/validate
W=$(mktemp -d /tmp/eppsim-cli-validate-XXXXXX)
trap 'rm -rf "$W"' EXIT
cd "$W"
unset EPPSIM_VALIDATION_DIR
fails=0
fail() { echo "FAIL $*"; fails=$((fails + 1)); }

# the round trip: eppsim's own run, read back as inference-perf results
"$EPPSIM" run "$D/tiny.yaml" -q --no-plots -o run --write-inference-perf-results || fail "run"
for f in exp-config.yaml results/config.yaml results/summary_lifecycle_metrics.json \
         results/stage_0_lifecycle_metrics.json results/stage_1_lifecycle_metrics.json; do
  [ -s "run/inference-perf/$f" ] || fail "run/inference-perf/$f missing"
done
"$EPPSIM" validate run/inference-perf --tolerance 0.01 > rt.txt; rc=$?
[ $rc -eq 0 ] || fail "round trip beyond 0.01 %: rc $rc"; 
grep -q "^inference-perf  *0.0  *0.0" rt.txt || fail "round trip row: $(grep '^inference-perf' rt.txt)"
grep -q "step model: profile tables: llama-3.1-8b on h100-sxm-80gb" rt.txt || fail "step model not reported"
# a build that stamps every SSE line (2025-10: two per token, two after the
# last): the files hold that client's ITL and TPOT, and round-trip through it
sed 's/^  inference_perf:$/  inference_perf:\n    version: "2025-10"/' "$D/tiny.yaml" > tiny-2025-10.yaml
"$EPPSIM" run tiny-2025-10.yaml -q --no-plots -o run2 --write-inference-perf-results || fail "run 2025-10"
"$EPPSIM" validate run2/inference-perf --inference-perf-version 2025-10 --tolerance 0.01 > rt2.txt 2>&1 ||
  fail "2025-10 round trip beyond 0.01 %: $(grep -A1 '^run ' rt2.txt | tail -1)"
grep -q -- '--client-stamps' rt2.txt && fail "the command line names --client-stamps that was not given: $(grep 'command line' rt2.txt)"
# another seed replays other arrivals: beyond a tight tolerance, exit 1
"$EPPSIM" validate run/inference-perf --seed 2 --tolerance 0.01 >/dev/null 2>seed.err; rc=$?
[ $rc -eq 1 ] || fail "seed 2 with --tolerance 0.01: rc $rc, want 1"
grep -q "off by" seed.err || fail "tolerance message: $(cat seed.err)"
# a workload inference-perf cannot express: the metrics are written, config.yaml says why, validate refuses it
"$EPPSIM" run -q --no-plots -o def --write-inference-perf-results || fail "default run"
[ -s def/inference-perf/results/summary_lifecycle_metrics.json ] || fail "default run: no lifecycle metrics"
grep -q "could not write this run's workload" def/inference-perf/results/config.yaml || fail "default run: config.yaml"
"$EPPSIM" validate def/inference-perf >/dev/null 2>def.err; rc=$?
[ $rc -eq 2 ] && grep -q "expected an inference-perf config" def.err || fail "validate of an inexpressible run: rc $rc $(cat def.err)"
[ $fails -eq 0 ] && echo "ok   round trip: validate against its own inference-perf results gives 0 error"

# a name longer than the table's 44 columns is printed whole; --tolerance says
# why a case was not simulated
"$EPPSIM" validate "$D/long-and-unsimulated.yaml" --tolerance 1000 > long.txt 2> long.err; rc=$?
[ $rc -eq 1 ] || fail "a case not simulated with --tolerance: rc $rc, want 1"
grep -q '^a-case-name-that-is-much-longer-than-forty-four-characters  ' long.txt || fail "long run name cut: $(grep '^a-case' long.txt)"
grep -q 'unknown-model-case: not simulated: server.model: no model "no-such-model-7b"' long.err ||
  fail "--tolerance: no reason for a case not simulated: $(cat long.err)"

# every source kind at once; -j 1 and -j 4 identical; every format
ALL=("$D/cases.yaml" "$D/bench-cases.yaml" "$D/bench-result.json" run/inference-perf)
"$EPPSIM" validate -j 1 "${ALL[@]}" > j1.txt || fail "validate -j 1"
"$EPPSIM" validate -j 4 "${ALL[@]}" > j4.txt || fail "validate -j 4"
cmp -s j1.txt j4.txt || fail "-j 1 and -j 4 differ"
grep -q "NOT SIMULATED" j1.txt && fail "a run was not simulated: $(grep -A2 'not simulated' j1.txt | head -3)"
grep -q "set test-set" j1.txt || fail "set header not printed"
grep -q "server warning: --kv-cache-dtype fp8 is recorded but not modelled" j1.txt || fail "kv-cache-dtype flag not warned about"
grep -q "sharegpt lengths: the bundled ShareGPT lengths rescaled" j1.txt || fail "approximation not stated"
grep -q "chat-template tokens on every prompt" j1.txt || fail "template tokens not stated"
grep -q "^median APE" j1.txt || fail "no medians"
"$EPPSIM" validate --format csv "${ALL[@]}" > v.csv || fail "csv"
head -1 v.csv | grep -q "^run,kind,simulated,stage,figure,measured,simulated_value,ape_pct$" || fail "csv header"
grep -q '^"sp-two-stages",case,yes,run,per_token_ms,9.8,' v.csv || fail "csv row: $(grep sp-two v.csv | head -2)"
"$EPPSIM" validate --format json -o v.json "${ALL[@]}" || fail "json"
if command -v python3 >/dev/null; then
  python3 - v.json <<'PY' || fail "json content"
import json, sys
d = json.load(open(sys.argv[1]))
runs = {r["name"]: r for r in d["runs"]}
assert len(runs) == 5, runs.keys()
rt = runs["inference-perf"]
run = [s for s in rt["stages"] if s["stage"] == "run"][0]
assert run["e2e_mean_ms"]["ape_pct"] < 0.01, run["e2e_mean_ms"]
assert runs["sharegpt-burst"]["approximate"] is True
assert runs["sp-two-stages"]["client_stamps_per_token"] == 2
assert d["median_ape_pct"]["ttft_mean_ms"]["runs"] == 5
PY
fi
"$EPPSIM" validate --format markdown --summary-only "${ALL[@]}" > v.md || fail "markdown"
grep -q "^| \*\*median APE\*\*" v.md || fail "markdown medians"
"$EPPSIM" validate --print-experiment "$D/cases.yaml" > exp.txt || fail "print-experiment"
grep -q 'vllm_args: "--gpu-memory-utilization 0.9 --kv-offloading-size 4 --kv-cache-dtype fp8 --max-num-seqs 32' exp.txt || fail "set + case flags: $(grep vllm_args exp.txt)"
grep -q '"num_unique_system_prompts": 2' exp.txt || fail "the case's workload not inlined: $(grep -A3 inference_perf exp.txt)"
if command -v gnuplot >/dev/null; then
  "$EPPSIM" validate --plot p.png "${ALL[@]}" >/dev/null || fail "plot"
  [ -s p.png ] || fail "no plot written"
fi
[ $fails -eq 0 ] && echo "ok   sources, formats, determinism across -j, plot"

# importers: a case file per CSV, set header once, cases replay
"$EPPSIM" validate import-blis "$D/blis-sample.csv" -o blis.yaml || fail "import-blis"
[ "$(grep -c '^set:' blis.yaml)" = 1 ] || fail "import-blis: one set header"
grep -q 'vllm_args: "--tensor-parallel-size 1 --max-num-batched-tokens 2048 --max-num-seqs 128"' blis.yaml || fail "import-blis flags"
grep -q "per_token_ms: 9.8" blis.yaml || fail "import-blis: itl column is the per-token time"
"$EPPSIM" validate import-gpustack "$D/gpustack-sample.csv" > gs.yaml || fail "import-gpustack"
grep -q 'workload: {dataset: random, num_prompts: 12, input_len: 300, output_len: 30, request_rate: inf}' gs.yaml || fail "import-gpustack random row"
grep -q 'max_concurrency: 2' gs.yaml || fail "import-gpustack concurrency"
"$EPPSIM" validate blis.yaml gs.yaml > imp.txt || fail "validate imported"
grep -q "NOT SIMULATED" imp.txt && fail "an imported case was not simulated"
[ $fails -eq 0 ] && echo "ok   importers"

# input errors: exit 2, file:line: key
expect_err() {  # expect_err PATTERN ARGS...
  local pat=$1; shift
  "$EPPSIM" validate "$@" >/dev/null 2>err.txt; local rc=$?
  [ $rc -eq 2 ] || fail "validate $*: rc $rc, want 2"
  grep -q -- "$pat" err.txt || fail "validate $*: message $(cat err.txt)"
}
expect_err "no RUN given"
expect_err "nowhere: no such file" nowhere
mkdir -p empty && expect_err "not an inference-perf result directory" empty
printf 'set: {name: x, colour: red}\ncases: []\n' > bad1.yaml
expect_err "bad1.yaml:1: set.colour" bad1.yaml
printf 'cases:\n  - {name: a, model: m, workload: {}, measured: {run: {ttft_mean_ms: oops}}}\n' > bad2.yaml
expect_err "bad2.yaml:2" bad2.yaml
printf 'cases:\n  - {name: a, model: m, vllm_args: "--max-num-seqs many", workload: {}, measured: {}}\n' > bad3.yaml
expect_err "expected a positive integer" bad3.yaml
expect_err "text, markdown, csv or json" --format xml run/inference-perf
printf 'a,b\n' > bad.csv
expect_err "no column" import-blis bad.csv
[ $fails -eq 0 ] && echo "ok   input errors"

# --set: applied to every replay over what the run implies, checked before any replay
"$EPPSIM" validate --format csv run/inference-perf "$D/cases.yaml" > s0.csv || fail "validate without --set"
"$EPPSIM" validate --format csv --set server.max_num_seqs=1 run/inference-perf "$D/cases.yaml" > s1.csv ||
  fail "validate --set server.max_num_seqs=1"
cmp -s s0.csv s1.csv && fail "--set server.max_num_seqs=1 changed no simulated figure"
# the same as the run file edited the same way (its own max_num_seqs: 64 -> 1)
sed 's/max_num_seqs: 64/max_num_seqs: 1/' "$D/tiny.yaml" > tiny-seqs1.yaml
grep -q 'max_num_seqs: 1,' tiny-seqs1.yaml || fail "tiny.yaml edit"
"$EPPSIM" run tiny-seqs1.yaml -q --no-plots -o run1 --write-inference-perf-results || fail "run of the edited file"
"$EPPSIM" validate --format csv run1/inference-perf > e1.csv || fail "validate of the edited run"
"$EPPSIM" validate --format csv --set server.max_num_seqs=1 run/inference-perf > s1rt.csv || fail "validate --set of the run"
# simulated values of the replay with --set = simulated values of the edited run's replay
cut -d, -f4,5,7 s1rt.csv > s1rt.sim; cut -d, -f4,5,7 e1.csv > e1.sim
cmp -s s1rt.sim e1.sim || fail "--set server.max_num_seqs=1 differs from the edited run: $(diff s1rt.sim e1.sim | head -4)"
grep -q '^"sp-two-stages",case,yes,' s1.csv || fail "sp-two-stages (--max-num-seqs 32 in its flags) not simulated with the --set"
# determinism at any -j with --set
"$EPPSIM" validate -j 1 --set server.max_num_seqs=2 "${ALL[@]}" > sj1.txt || fail "--set -j 1"
"$EPPSIM" validate -j 4 --set server.max_num_seqs=2 "${ALL[@]}" > sj4.txt || fail "--set -j 4"
cmp -s sj1.txt sj4.txt || fail "--set: -j 1 and -j 4 differ"
grep -q '^command line: --set server.max_num_seqs=2$' sj1.txt || fail "--set not on the command line: line: $(grep 'command line' sj1.txt)"
# --print-experiment shows the value (over the case's --max-num-seqs 32 flag)
"$EPPSIM" validate --print-experiment --set server.max_num_seqs=1 --set server.api_chat_yield=true "$D/cases.yaml" > sexp.txt ||
  fail "--print-experiment --set"
grep -q '^  max_num_seqs: 1$' sexp.txt || fail "--print-experiment: no max_num_seqs: 1: $(grep -A8 '^server:' sexp.txt)"
grep -q '^  api_chat_yield: true$' sexp.txt || fail "--print-experiment: no api_chat_yield: true"
grep -q '^# --set server.api_chat_yield=true$' sexp.txt || fail "--print-experiment: the --set not named"
# bad key, bad value, no '=': exit 2 naming --set, nothing replayed
expect_err "--set server.nonsense=1: server.nonsense: unknown key" --set server.nonsense=1 run/inference-perf
expect_err "--set server.max_num_seqs=lots: server.max_num_seqs: expected an integer" --set server.max_num_seqs=lots run/inference-perf
expect_err "--set server.max_num_seqs: expected KEY.PATH=VALUE" --set server.max_num_seqs run/inference-perf
expect_err "--set server.api_chat_yield=maybe: server.api_chat_yield" --print-experiment --set server.api_chat_yield=maybe "$D/cases.yaml"
[ $fails -eq 0 ] && echo "ok   --set"

# server.vllm_args in an experiment: flags not modelled are warned about
printf 'server: {vllm_args: "--max-num-seqs 8 --kv-offloading-size 8 --kv-cache-dtype fp8 --frob 1"}\ncluster: {replicas: 1}\nworkload: {num_requests: 5}\n' > va.yaml
"$EPPSIM" run va.yaml -q --no-plots -o va 2>va.err || fail "run with vllm_args"
grep -q "kv-cache-dtype fp8 is recorded but not modelled" va.err || fail "run: kv-cache-dtype warning"
grep -q "kv_offloading_gib: 8" va/experiment.yaml || fail "run: --kv-offloading-size not applied"
grep -q -- "--frob 1 is not a flag eppsim knows" va.err || fail "run: unknown flag warning"
grep -q "max_num_seqs: 8" va/experiment.yaml || fail "run: --max-num-seqs not applied"
"$EPPSIM" run va/experiment.yaml -q --no-plots -o va2 2>/dev/null || fail "experiment.yaml as written does not load again"
# run's --set of a key the flags name must agree with the flag, as in a file
# (experiment.yaml records both: it must load again); validate's --set wins
"$EPPSIM" run va.yaml -q --no-plots -o va3 --set server.max_num_seqs=4 2>va3.err && fail "run: --set and --max-num-seqs that disagree were accepted"
grep -q "server.max_num_seqs: differs from the value server.vllm_args sets" va3.err || fail "run: --set/flag message: $(cat va3.err)"
"$EPPSIM" run va.yaml -q --no-plots -o va4 --set server.max_num_seqs=8 2>/dev/null || fail "run: --set equal to the flag refused"
"$EPPSIM" run va4/experiment.yaml -q --no-plots -o va5 2>/dev/null || fail "run --set: experiment.yaml as written does not load again"
printf 'server: {max_num_seqs: 4, vllm_args: "--max-num-seqs 8"}\ncluster: {replicas: 1}\nworkload: {num_requests: 5}\n' > vb.yaml
"$EPPSIM" run vb.yaml -q --no-plots -o vb 2>vb.err && fail "run: a file's key and flag that disagree were accepted"
grep -q "vb.yaml:1: server.max_num_seqs: differs from the value server.vllm_args sets" vb.err || fail "run: key/flag message: $(cat vb.err)"
[ $fails -eq 0 ] && echo "ok   server.vllm_args in run"
exit $((fails > 0))
