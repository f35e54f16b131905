#!/usr/bin/env bash
# llm-d-router v0.10.0's placement plugins end to end, fed by the simulation:
# session-affinity-filter (session_id: the workload's session as x-session-id)
# keeps each session on one pod; context-length-aware (pod labels from
# cluster.pod_labels) places short and long prompts on their pods;
# header-profile-handler runs the profile a trace header names; in-flight
# eviction (flowControl.enableEviction) answers 429 to some sheddable
# requests under overload, none without it, deterministically; explain shows
# the filters and the context-length scores.
#   tests/cli/placement.sh EPPSIM
set -uo pipefail
EPPSIM=$(realpath "$1")
W=$(mktemp -d /tmp/eppsim-cli-placement-XXXXXX)
trap 'rm -rf "$W"' EXIT
cd "$W"
fails=0
fail() { echo "FAIL $*"; fails=$((fails + 1)); }

# ---- traces: 8 sessions x 5 turns; short/long prompts with a profile header
python3 - <<'PY'
import json
with open("sess.jsonl", "w") as f:
    t = 0
    for turn in range(5):
        for s in range(8):
            t += 50
            f.write(json.dumps({"arrival_ms": t, "segments": [[1000 + s, 300], [2000 + 10 * s + turn, 50]],
                                "output_tokens": 20, "session": "s%d" % s}) + "\n")
with open("mixed.jsonl", "w") as f:
    for i in range(40):
        f.write(json.dumps({"arrival_ms": 20 * i, "input_tokens": 3000 if i % 2 else 200, "output_tokens": 10,
                            "headers": {"epp-profile": "b" if i % 4 >= 2 else "a"}}) + "\n")
PY
trace_exp() {   # name config trace [cluster extra]
  cat > "$1.yaml" <<YAML
name: $1
seed: 5
cluster: {replicas: 4${4:-}}
epp: {config_file: $2}
workload:
  type: trace
  trace: {file: $3, format: eppsim}
YAML
}
# column values of requests.csv by request id, as "id pod" lines
pods() { python3 -c "
import csv, sys
for r in csv.DictReader(open(sys.argv[1])): print(r['id'], r['pod'], r['status'])" "$1/requests.csv"; }

# ---- session-affinity-filter, session_id strategy
cat > sess-cfg.yaml <<'YAML'
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: session-affinity-filter
  parameters: {strategy: session_id}
- type: queue-scorer
- type: random-picker
YAML
trace_exp sess sess-cfg.yaml sess.jsonl
"$EPPSIM" run sess.yaml -q --no-plots -o s >s.out 2>&1 || { fail "session run"; cat s.out; }
n=$(pods s | awk '$3 == 200 {print ($1 % 8), $2}' | sort -u | awk '{print $1}' | uniq -d | wc -l)
[ "$(pods s | wc -l)" = 40 ] || fail "session run: $(pods s | wc -l) requests"
[ "$n" = 0 ] || fail "session_id: $n sessions spread over several pods"
# without the filter the random picker spreads them
sed '/session-affinity-filter/,+1d' sess-cfg.yaml > nosess-cfg.yaml
trace_exp nosess nosess-cfg.yaml sess.jsonl
"$EPPSIM" run nosess.yaml -q --no-plots -o ns >/dev/null 2>&1 || fail "run without the filter"
n=$(pods ns | awk '{print ($1 % 8), $2}' | sort -u | awk '{print $1}' | uniq -d | wc -l)
[ "$n" -gt 0 ] || fail "control: the random picker kept every session on one pod"

# ---- context-length-aware on labelled pods; header-profile-handler on groups
cat > cla-cfg.yaml <<'YAML'
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: context-length-aware
  parameters: {enableFiltering: true}
- type: queue-scorer
YAML
trace_exp cla cla-cfg.yaml mixed.jsonl ", pod_labels: [{llm-d.ai/context-length-range: 0-1000}, {llm-d.ai/context-length-range: 1001-100000}]"
"$EPPSIM" run cla.yaml -q --no-plots -o c >c.out 2>&1 || { fail "context-length run"; cat c.out; }
bad=$(pods c | awk '{pod = substr($2, length($2)); if (($1 % 2) != (pod % 2) || $3 != 200) print}' | wc -l)
[ "$bad" = 0 ] || fail "context-length-aware: $bad requests off their pods: $(pods c | head -4 | tr '\n' ' ')"
cat > hp-cfg.yaml <<'YAML'
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: label-selector-filter
  name: group-a
  parameters: {matchLabels: {group: a}}
- type: label-selector-filter
  name: group-b
  parameters: {matchLabels: {group: b}}
- type: queue-scorer
- type: header-profile-handler
  parameters: {defaultProfile: a}
schedulingProfiles:
- name: a
  plugins: [{pluginRef: group-a}, {pluginRef: queue-scorer}]
- name: b
  plugins: [{pluginRef: group-b}, {pluginRef: queue-scorer}]
YAML
trace_exp hp hp-cfg.yaml mixed.jsonl ", pod_labels: [{group: a}, {group: b}]"
"$EPPSIM" run hp.yaml -q --no-plots -o h >h.out 2>&1 || { fail "header-profile run"; cat h.out; }
bad=$(pods h | awk '{pod = substr($2, length($2)); want = ($1 % 4 >= 2) ? 1 : 0; if ((pod % 2) != want || $3 != 200) print}' | wc -l)
[ "$bad" = 0 ] || fail "header-profile-handler: $bad requests off their group: $(pods h | head -4 | tr '\n' ' ')"

# ---- in-flight eviction under overload
cat > ev-cfg.yaml <<'YAML'
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
featureGates: [flowControl]
plugins:
- type: queue-scorer
- type: kv-cache-utilization-scorer
flowControl:
  enableEviction: true
YAML
sed 's/enableEviction: true/enableEviction: false/' ev-cfg.yaml > ev0-cfg.yaml
for v in ev ev0; do cat > $v.yaml <<YAML
name: $v
seed: 3
cluster: {replicas: 1}
epp: {config_file: $v-cfg.yaml}
workload:
  num_requests: 600
  arrival: {process: poisson, rate: 150}
  shared_prefix: {num_groups: 4, system_prompt_len: 800, question_len: 200, output_len: 400}
  mix:
    objectives:
    - {name: interactive, priority: 0, weight: 0.5}
    - {name: batch, priority: -1, weight: 0.5}
YAML
done
"$EPPSIM" run ev.yaml -q --no-plots -o e1 >e1.out 2>&1 || { fail "eviction run"; cat e1.out; }
"$EPPSIM" run ev.yaml -q --no-plots -o e2 >/dev/null 2>&1 || fail "eviction run 2"
"$EPPSIM" run ev0.yaml -q --no-plots -o e0 >/dev/null 2>&1 || fail "run without eviction"
ne=$(pods e1 | awk '$3 == 429' | wc -l)
[ "$ne" -gt 0 ] || fail "enableEviction: no request evicted (429)"
[ "$(pods e0 | awk '$3 == 429' | wc -l)" = 0 ] || fail "429s without enableEviction"
cmp -s e1/requests.csv e2/requests.csv || fail "eviction runs differ for one seed"
grep -q "enableEviction: true" e1/epp-config.yaml || fail "epp-config.yaml lacks enableEviction"

# ---- explain: the filters and the context-length scores
cat > expl-cfg.yaml <<'YAML'
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: context-length-aware
  parameters: {enableFiltering: true}
- type: utilization-filter
  parameters: {conditions: [{metric: waiting-queue, maxValue: 3}]}
- type: queue-scorer
YAML
python3 - <<'PY'
import json
eps = [("short", "0-100", 0), ("long", "100-9000", 1), ("busy", "0-9000", 5), ("any", None, 2)]
s = {"now_ms": 0, "endpoints": [], "request": {"model": "m", "prompt": "x" * 2000}}
for i, (n, r, w) in enumerate(eps):
    e = {"name": n, "address": "10.0.0.%d:8000" % (i + 1), "metrics": {"waiting": w}}
    if r: e["labels"] = {"llm-d.ai/context-length-range": r}
    s["endpoints"].append(e)
json.dump(s, open("state.json", "w"))
PY
"$EPPSIM" explain --epp-config expl-cfg.yaml --state state.json --json >x.json 2>x.err || fail "explain: $(cat x.err)"
python3 - x.json <<'PY' || fail "explain json"
import json, sys
x = json.load(open(sys.argv[1]))
assert x["outcome"] == 200 and x["picked"][0] == "long", x
p = x["profiles"]["default"]
assert sorted(p["filtered"]) == ["any", "long"], p["filtered"]
s = p["scores"]
assert abs(s["any"]["context-length-aware"] - 0.5) < 1e-12, s
# 500 tokens in 100-9000: 0.3 + 0.7 (0.7 / (1 + 0.89) + 0.3 * 8500 / 8900)
want = 0.3 + 0.7 * (0.7 / (1 + 8900 / 10000) + 0.3 * 8500 / 8900)
assert abs(s["long"]["context-length-aware"] - want) < 1e-9, (s, want)
PY

[ $fails = 0 ] && echo "placement: all passed"
exit $fails
