#!/usr/bin/env bash
# Every EndpointPickerConfig llm-d-router v0.10.0 ships (tests/upstream/configs,
# copied with source path and commit): those marked `accept` in EXPECTED load in
# `eppsim explain` and run end to end (`eppsim run`, a small shared-prefix
# workload, P/D ones with two prefill pods, E/P/D ones with an encode pod and
# requests carrying images); those marked `refuse` fail with exit 2 and the
# reason EXPECTED names.
set -uo pipefail
eppsim="$(realpath "$1")"
root="$(cd "$(dirname "$0")/../.." && pwd)"
dir="$root/tests/upstream/configs"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
fail=0 acc=0 ref=0 total=0
while read -r name verdict rest; do
  case "$name" in ''|\#*) continue;; esac
  total=$((total + 1)); f="$dir/$name"
  [ -f "$f" ] || { echo "FAIL $name: missing"; fail=1; continue; }
  "$eppsim" explain --epp-config "$f" --state "$root/docs/explain-example/state.json" > "$tmp/out" 2> "$tmp/err"; rc=$?
  if [ "$verdict" = refuse ]; then
    if [ $rc = 2 ] && grep -qF "$rest" "$tmp/err"; then ref=$((ref + 1)); echo "ok   $name refused: $(grep -v warning "$tmp/err" | head -1)"
    else echo "FAIL $name: expected a refusal naming '$rest', rc=$rc"; cat "$tmp/err"; fail=1; fi
    continue
  fi
  if [ $rc != 0 ]; then echo "FAIL $name: explain rc=$rc"; cat "$tmp/err"; fail=1; continue; fi
  pd=""; img=""; [ "$rest" = pd ] && pd="  prefill_replicas: 2"
  case "$rest" in epd|e) pd="  encode_replicas: 1"; [ "$rest" = epd ] && pd="$pd
  prefill_replicas: 1"; img="  images: {per_request: 1, fraction: 0.5, pool: 20}";; esac
  cat > "$tmp/exp.yaml" <<EXP
name: upstream-config
seed: 1
server: {gpu: h100-sxm-80gb, model: llama-3.1-8b}
cluster:
  replicas: 4
$pd
epp: {config_file: $f}
workload:
  type: shared_prefix
  num_requests: 300
  arrival: {process: poisson, rate: 20}
  shared_prefix: {num_groups: 4, num_prompts_per_group: 50, system_prompt_len: 1000, question_len: 100, output_len: 50}
$img
EXP
  if ! "$eppsim" run "$tmp/exp.yaml" --no-plots --quiet --out "$tmp/run" --force --record-decisions > "$tmp/out" 2> "$tmp/err"; then
    echo "FAIL $name: run failed"; cat "$tmp/err"; fail=1; continue
  fi
  if [ -n "$img" ]; then   # the requests with images, and only they, got an encode pod
    nimg=$(grep -c '"images": \[' "$tmp/run/decisions.jsonl"); nenc=$(grep -c '"encode": \[' "$tmp/run/decisions.jsonl")
    if [ "$nimg" -lt 50 ] || [ "$nimg" != "$nenc" ]; then echo "FAIL $name: $nenc encode picks for $nimg requests with images"; fail=1; continue; fi
  fi
  s=$(find "$tmp/run" -name summary.json | head -1)
  if [ -z "$s" ] || ! grep -q '"completed"' "$s"; then echo "FAIL $name: no summary"; fail=1; continue; fi
  acc=$((acc + 1)); echo "ok   $name accepted and ran ($(grep -c warning "$tmp/err") warnings)"
done < "$dir/EXPECTED"
echo "$acc of $total upstream configs accepted and run end to end; $ref refused as expected"
# the shipped mm-embeddings-cache config, corrected (tests/upstream/corrected/), runs
# end to end on requests carrying images; the scorer's affinity shows in explain
mm="$root/tests/upstream/corrected/deploy-epp-mm-embeddings-cache-config.yaml"
printf 'name: mm\nseed: 1\ncluster: {replicas: 4}\nepp: {config_file: %s}\nworkload:\n  type: shared_prefix\n  num_requests: 200\n  arrival: {process: poisson, rate: 20}\n  shared_prefix: {num_groups: 4, num_prompts_per_group: 50, system_prompt_len: 500, question_len: 100, output_len: 20}\n  images: {per_request: 2, pool: 30}\n' "$mm" > "$tmp/mm.yaml"
if "$eppsim" run "$tmp/mm.yaml" --quiet --no-plots --out "$tmp/mm" > /dev/null 2> "$tmp/err"; then
  grep -qE '"completed":[[:space:]]*200,' "$tmp/mm/summary.json" || { echo "FAIL corrected mm config: not every request completed"; fail=1; }
else echo "FAIL corrected mm config run"; cat "$tmp/err"; fail=1; fi
printf '{"now_ms": 0, "endpoints": [{"name": "a", "metrics": {"waiting": 2}}, {"name": "b", "metrics": {"waiting": 0}}],\n "history": [{"model": "m", "prompt": "x", "images": ["cat.png"], "endpoint": "a"}],\n "request": {"model": "m", "prompt": "describe", "images": ["cat.png"]}}\n' > "$tmp/mm-state.json"
"$eppsim" explain --epp-config "$mm" --state "$tmp/mm-state.json" --json > "$tmp/mm.json" 2> "$tmp/err"
grep -q '"mm-embeddings-cache-scorer": 1' "$tmp/mm.json" && grep -q '"picked": \["a"\]' "$tmp/mm.json" ||
  { echo "FAIL explain with mm-embeddings-cache-scorer"; cat "$tmp/mm.json" "$tmp/err"; fail=1; }
# E/P/D in explain: an image sends the request to an encode pod; its 576 placeholder tokens count for the P/D decider
printf '{"now_ms": 0, "endpoints": [{"name": "e1", "labels": {"llm-d.ai/role": "encode"}}, {"name": "p1", "labels": {"llm-d.ai/role": "prefill"}}, {"name": "d1", "labels": {"llm-d.ai/role": "decode"}}],\n "request": {"model": "m", "prompt": "describe this picture", "images": ["cat.png"]}}\n' > "$tmp/epd-state.json"
"$eppsim" explain --epp-config "$dir/deploy-sim-e-p-d-epp-config.yaml" --state "$tmp/epd-state.json" --json > "$tmp/epd.json" 2> "$tmp/err"
grep -q '"picked": \["d1", "p1"\]' "$tmp/epd.json" && grep -q '"encode": \["e1"\]' "$tmp/epd.json" ||
  { echo "FAIL explain with E/P/D"; cat "$tmp/epd.json" "$tmp/err"; fail=1; }
# p2p-source-producer in explain: the pod that served the prompt is the KV source of a pick elsewhere
long=$(printf 'x%.0s' $(seq 1 2047))
printf '{"now_ms": 0, "endpoints": [{"name": "a", "metrics": {"waiting": 9}}, {"name": "b", "metrics": {"waiting": 0}}],\n "history": [{"model": "m", "prompt": "%s", "endpoint": "a"}],\n "request": {"model": "m", "prompt": "%s"}}\n' "$long" "$long" > "$tmp/p2p-state.json"
printf 'apiVersion: llm-d.ai/v1alpha1\nkind: EndpointPickerConfig\nplugins:\n- type: p2p-source-producer\n- type: queue-scorer\n' > "$tmp/p2p.yaml"
"$eppsim" explain --epp-config "$tmp/p2p.yaml" --state "$tmp/p2p-state.json" --json > "$tmp/p2p.json" 2> "$tmp/err"
grep -q '"picked": \["b"\]' "$tmp/p2p.json" && grep -q '"kv_source": "a"' "$tmp/p2p.json" && grep -q '"kv_source_tokens": 512' "$tmp/p2p.json" ||
  { echo "FAIL explain with p2p-source-producer"; cat "$tmp/p2p.json" "$tmp/err"; fail=1; }
# every type v0.10.0 registers is known to eppsim and classed in docs/scheduler.md
nt=0
while read -r t; do
  case "$t" in ''|\#*) continue;; esac
  nt=$((nt + 1))
  printf 'apiVersion: llm-d.ai/v1alpha1\nkind: EndpointPickerConfig\nplugins:\n- type: %s\n' "$t" > "$tmp/t.yaml"
  "$eppsim" explain --epp-config "$tmp/t.yaml" --state "$root/docs/explain-example/state.json" > /dev/null 2> "$tmp/err"
  if grep -q "unknown plugin type" "$tmp/err"; then echo "FAIL type $t: unknown to eppsim"; fail=1; fi
  grep -qF "\`$t\`" "$root/docs/scheduler.md" || { echo "FAIL type $t: not classed in docs/scheduler.md"; fail=1; }
done < "$root/tests/upstream/registered-types.txt"
echo "$nt registered types known and classed"
# --strict-stability refuses Alpha plugins as upstream does without --allow-experimental-plugins
st="$root/docs/explain-example/state.json"; gpu="$dir/deploy-sim-epp-gpu-config.yaml"
"$eppsim" explain --strict-stability --epp-config "$gpu" --state "$st" > /dev/null 2> "$tmp/err"; rc=$?
if [ $rc != 2 ] || ! grep -q "deploy-sim-epp-gpu-config.yaml:[0-9]*: plugins: plugin 'dcgm-extractor' (type: 'dcgm-extractor') has Alpha stability level, but command line flag --allow-experimental-plugins is not set" "$tmp/err"; then
  echo "FAIL --strict-stability: rc=$rc"; cat "$tmp/err"; fail=1; fi
"$eppsim" explain --strict-stability --allow-experimental-plugins --epp-config "$gpu" --state "$st" > /dev/null 2>&1 || { echo "FAIL --allow-experimental-plugins refused"; fail=1; }
"$eppsim" explain --strict-stability --state "$st" > /dev/null 2>&1 || { echo "FAIL --strict-stability refused the default config"; fail=1; }
"$eppsim" explain --epp-config "$gpu" --state "$st" > /dev/null 2>&1 || { echo "FAIL Alpha plugins refused without --strict-stability"; fail=1; }
printf 'name: strict\nepp: {config_file: %s}\nworkload: {num_requests: 20}\n' "$gpu" > "$tmp/strict.yaml"
"$eppsim" run "$tmp/strict.yaml" --strict-stability --quiet --no-plots --out "$tmp/strict" > /dev/null 2> "$tmp/err"; rc=$?
if [ $rc != 2 ] || ! grep -q "has Alpha stability level" "$tmp/err" || [ -e "$tmp/strict" ]; then echo "FAIL run --strict-stability: rc=$rc"; fail=1; fi
echo "--strict-stability checked"
# explain shows the GPU-utilisation filter and scorer on the dcgm attribute
"$eppsim" explain --epp-config "$gpu" --state "$root/tests/fuzz/corpus/explain_state/parity-gpu.json" --json > "$tmp/gpu.json" 2> /dev/null
grep -q '"filtered"' "$tmp/gpu.json" && grep -q '"gpu-utilization-scorer": 0.6' "$tmp/gpu.json" && grep -q '"picked": \["pod2"\]' "$tmp/gpu.json" ||
  { echo "FAIL explain with gpu_utilization"; cat "$tmp/gpu.json"; fail=1; }
# topology labels on pods (cluster.pod_labels): with the pd-topology config every
# split request prefills on the decode pod's host
cat > "$tmp/topo.yaml" <<EXP
name: topo
seed: 1
cluster:
  replicas: 6
  prefill_replicas: 2
  pod_labels: [{kubernetes.io/hostname: node-a}, {kubernetes.io/hostname: node-b}]
epp: {config_file: $dir/deploy-pd-topology-epp-config.yaml}
workload:
  type: shared_prefix
  num_requests: 120
  arrival: {process: poisson, rate: 20}
  shared_prefix: {num_groups: 4, num_prompts_per_group: 30, system_prompt_len: 1000, question_len: 100, output_len: 20}
EXP
if "$eppsim" run "$tmp/topo.yaml" --record-decisions --quiet --no-plots --out "$tmp/topo" > /dev/null 2>&1; then
  grep -q '"kubernetes.io/hostname": "node-b"' "$tmp/topo/decisions.jsonl" || { echo "FAIL pod_labels: not on the endpoints"; fail=1; }
  # picked: [decode, prefill]; pods 0, 1 prefill; hostname alternates with the pod index
  splits=$(grep -o '"picked": \["[^"]*-[0-9]*", "[^"]*-[01]"\]' "$tmp/topo/decisions.jsonl" |
           sed 's/^"picked": \["[^"]*-\([0-9]*\)", "[^"]*-\([01]\)"\]$/\1,\2/')
  cross=$(echo "$splits" | awk -F, 'NF == 2 && ($1 % 2) != ($2 % 2)' | wc -l)
  nsplit=$(echo "$splits" | grep -c ,)
  if [ "$nsplit" -lt 10 ] || [ "$cross" != 0 ]; then echo "FAIL topology: $cross of $nsplit splits across hosts"; fail=1; fi
  echo "topology labels: $nsplit P/D splits, $cross across hosts"
else echo "FAIL pod_labels run"; fail=1; fi
printf 'name: bad\ncluster: {pod_labels: [{"": x}]}\n' > "$tmp/bad.yaml"
"$eppsim" run "$tmp/bad.yaml" --quiet --no-plots --out "$tmp/bad" > /dev/null 2> "$tmp/err"; rc=$?
{ [ $rc = 2 ] && grep -q "bad.yaml:2: cluster.pod_labels\[0\]\.: not a label key" "$tmp/err"; } || { echo "FAIL bad pod_labels: rc=$rc"; cat "$tmp/err"; fail=1; }
exit $fail
