#!/usr/bin/env bash
# p2p-source-producer's pull in the cluster model (docs/e2e.md, "P2P KV
# pull"): with the producer and the OffloadingConnector's host tier (the P2P
# tier serves the source's CPU tier), a request routed away from the pod
# that caches its prefix pulls that KV over the shared kv_transfer link and
# prefills only the rest (more cached tokens, lower TTFT); a slower link
# costs TTFT; without a host tier nothing is pulled; the producer that never
# emits its header (minCachedTokenDelta above any prompt) gives
# byte-identical results to the same config without it; under P/D the
# prefill pod pulls.
#   tests/cli/p2p_pull.sh EPPSIM
set -uo pipefail
EPPSIM=$(realpath "$1")
W=$(mktemp -d /tmp/eppsim-cli-p2p-XXXXXX)
trap 'rm -rf "$W"' EXIT
cd "$W"
fails=0
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
head='apiVersion: llm-d.ai/v1alpha1\nkind: EndpointPickerConfig\nplugins:\n- type: approx-prefix-cache-producer\n'
printf "$head"'- type: queue-scorer\n' > plain.yaml
printf "$head"'- type: p2p-source-producer\n- type: queue-scorer\n' > p2p.yaml
printf "$head"'- type: p2p-source-producer\n  parameters: {minCachedTokenDelta: 1000000}\n- type: queue-scorer\n' > never.yaml
exp() {   # name, epp config, cluster extras
  cat > "e-$1.yaml" <<YAML
name: p2p-$1
seed: 1
cluster: {replicas: 4$3}
server: {vllm_fidelity: on, kv_offloading_gib: ${HOST_GIB:-8}}
epp: {config_file: $W/$2}
workload:
  num_requests: 300
  arrival: {process: poisson, rate: 10}
  shared_prefix: {num_groups: 30, num_prompts_per_group: 10, system_prompt_len: 3000, question_len: 50, output_len: 20}
YAML
  "$EPPSIM" run "e-$1.yaml" -q --no-plots -o "out-$1" 2>/dev/null || fail "run $1"
}
exp plain plain.yaml ""
exp p2p p2p.yaml ""
exp never never.yaml ""
exp slow p2p.yaml ", kv_transfer_gbps: 0.5"
HOST_GIB=0 exp nohost p2p.yaml ""
HOST_GIB=0 exp nohostplain plain.yaml ""
cmp -s out-nohostplain/requests.csv out-nohost/requests.csv || fail "a pod without a host tier served a pull"
cmp -s out-plain/requests.csv out-never/requests.csv || fail "a producer that emits no header moved results"
cmp -s out-plain/pods.csv out-never/pods.csv || fail "a producer that emits no header moved pods.csv"
python3 - <<'PY' || fail "pull effect"
import csv
def stats(d):
    rows = [r for r in csv.DictReader(open(d + "/requests.csv")) if r["status"] == "200"]
    assert len(rows) == 300, (d, len(rows))
    prefill = sum(int(r["prompt_tokens"]) - int(r["cached_tokens"]) for r in rows)
    ttft = sum(float(r["ttft_ms"]) for r in rows) / len(rows)
    return prefill, ttft
plain, p2p, slow = stats("out-plain"), stats("out-p2p"), stats("out-slow")
print("prefill tokens / mean TTFT ms: plain %d %.1f, p2p %d %.1f, p2p on a 0.5 Gbit/s link %d %.1f" % (plain + p2p + slow))
assert p2p[0] < 0.6 * plain[0], (plain, p2p)   # most of the recomputed prefixes are pulled instead
assert p2p[1] < 0.9 * plain[1], (plain, p2p)
assert slow[1] > 2 * p2p[1], (p2p, slow)       # 3000 tokens x 128 KiB at 0.5 Gbit/s: seconds per pull
PY
# P/D: the prefill pod is the computing pod; its profile ignores the prefix so that it misses
pd() {   # name, extra plugin line
  printf "$head"'- type: queue-scorer\n- type: prefill-filter\n- type: decode-filter\n- type: max-score-picker\n%b- type: prefix-based-pd-decider\n  parameters: {nonCachedTokens: 16}\n- type: disagg-profile-handler\n  parameters: {deciders: {prefill: prefix-based-pd-decider}}\nschedulingProfiles:\n- name: prefill\n  plugins: [{pluginRef: prefill-filter}, {pluginRef: max-score-picker}, {pluginRef: queue-scorer}]\n- name: decode\n  plugins: [{pluginRef: decode-filter}, {pluginRef: max-score-picker}, {pluginRef: queue-scorer}]\n' "$2" > "$1-cfg.yaml"
  exp "$1" "$1-cfg.yaml" ", prefill_replicas: 2"
}
pd pd ""
pd pdp2p "- type: p2p-source-producer\n"
python3 - <<'PY' || fail "P/D pull effect"
import csv
def prefill(d):
    rows = [r for r in csv.DictReader(open(d + "/requests.csv")) if r["status"] == "200"]
    assert len(rows) == 300, (d, len(rows))
    return sum(int(r["prompt_tokens"]) - int(r["cached_tokens"]) for r in rows)
a, b = prefill("out-pd"), prefill("out-pdp2p")
print("P/D prefill tokens: without %d, with p2p-source-producer %d" % (a, b))
assert b < 0.8 * a, (a, b)
PY
"$EPPSIM" run e-p2p.yaml -q --no-plots -o out-p2p-again 2>/dev/null || fail "rerun"
cmp -s out-p2p/requests.csv out-p2p-again/requests.csv || fail "same seed differs"
[ "$fails" -eq 0 ] && echo "ok p2p pull" || exit 1
