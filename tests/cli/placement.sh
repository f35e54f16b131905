#!/usr/bin/env bash
# llm-d-router v0.10.0's placement plugins end to end, fed by the simulation:
# session-affinity-filter (session_id: the workload's session as x-session-id;
# encoded_endpoint_header: the chat client and a replayed trace's sessions
# echo the token) keeps each
# session on one pod; context-length-aware (pod labels from
# cluster.pod_labels) places short and long prompts on their pods;
# header-profile-handler runs the profile a trace header names; in-flight
# eviction (flowControl.enableEviction) answers 429 to some sheddable
# requests under overload, none without it, deterministically; explain shows
# the filters and the context-length scores.
#   tests/cli/placement.sh EPPSIM
set -uo pipefail
EPPSIM=$(realpath "$1")
W=$(mktemp -d /tmp/eppsim-cli-placement-XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$W"' EXIT
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

# ---- session-affinity-filter, default strategy (encoded_endpoint_header): the
# simulated chat client echoes the x-session-token response header on its
# session's next turn, so each session stays on one pod
cat > tok-cfg.yaml <<'YAML'
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: session-affinity-filter
- type: random-picker
YAML
sed 's/session-affinity-filter/queue-scorer/' tok-cfg.yaml > notok-cfg.yaml
for v in tok notok; do cat > $v.yaml <<YAML
name: $v
seed: 2
cluster: {replicas: 4}
epp: {config_file: $v-cfg.yaml}
workload:
  type: sessions
  num_requests: 120
  arrival: {process: poisson, rate: 4}
  sessions: {turns_min: 3, turns_max: 6, think_time_s: 1, system_prompt_len: 0}
  lengths: {input: {dist: constant, mean: 100}, output: {dist: constant, mean: 20}}
YAML
done
# sessions (keyed by their first segment, unique without a system prompt),
# those on several pods, requests carrying a token, tokens naming the pick
spread() { python3 -c "
import base64, collections, json, sys
by = collections.defaultdict(set); tok = named = 0
for l in open(sys.argv[1]):
    d = json.loads(l)
    if d['outcome'] != 200: continue
    by[d['request']['content'][0][0]].add(d['picked'][0])
    t = d['request']['headers'].get('x-session-token')
    if t: tok += 1; named += base64.b64decode(t).decode() == d['picked'][0]
print(len(by), sum(len(v) > 1 for v in by.values()), tok, named)" "$1/decisions.jsonl"; }
"$EPPSIM" run tok.yaml -q --no-plots --record-decisions -o t >t.out 2>&1 || { fail "token run"; cat t.out; }
"$EPPSIM" run notok.yaml -q --no-plots --record-decisions -o nt >/dev/null 2>&1 || fail "run without the filter (tokens)"
read -r ns nspread ntok nnamed <<<"$(spread t)"
{ [ "$ns" -ge 20 ] && [ "$nspread" = 0 ] && [ "$ntok" -ge 40 ] && [ "$ntok" = "$nnamed" ]; } ||
  fail "encoded_endpoint_header: sessions $ns, spread $nspread, tokens $ntok, naming the pick $nnamed"
read -r ns nspread ntok nnamed <<<"$(spread nt)"
{ [ "$nspread" -gt 0 ] && [ "$ntok" = 0 ]; } || fail "control (no filter): sessions $ns, spread $nspread, tokens $ntok"

# ---- the same for a replayed multi-turn trace (eppsim JSONL `session`): its
# requests echo the token their session's last answer carried (turns 2 s
# apart, so each answer is back first); session s7 gives its own
# x-session-token naming one pod, which wins over the echoed one
python3 - t/decisions.jsonl <<'PY'
import base64, json, sys
pods = sorted({json.loads(l)['picked'][0] for l in open(sys.argv[1]) if json.loads(l)['picked']})
pin = base64.b64encode(pods[2].encode()).decode()
open("pinned-pod", "w").write(pods[2])
with open("turns.jsonl", "w") as f:
    for turn in range(5):
        for s in range(8):
            rec = {"arrival_ms": 2000 * turn + 50 * s, "segments": [[3000 + s, 300], [4000 + 10 * s + turn, 50]],
                   "output_tokens": 20, "session": "s%d" % s}
            if s == 7: rec["headers"] = {"X-Session-Token": pin}
            f.write(json.dumps(rec) + "\n")
PY
trace_exp ttok tok-cfg.yaml turns.jsonl
trace_exp tnotok notok-cfg.yaml turns.jsonl
tspread() { python3 -c "
import base64, collections, json, sys
by = collections.defaultdict(set); tok = named = 0
for l in open(sys.argv[1]):
    d = json.loads(l)
    if d['outcome'] != 200: continue
    s = d['request']['content'][0][0]
    by[s].add(d['picked'][0])
    h = {k.lower(): v for k, v in d['request']['headers'].items()}
    if 'x-session-token' in h and s != '3007': tok += 1; named += base64.b64decode(h['x-session-token']).decode() == d['picked'][0]
print(len(by), sum(len(v) > 1 for v in by.values()), tok, named, ','.join(sorted(by['3007'])))" "$1/decisions.jsonl"; }
for v in ttok tnotok; do
  "$EPPSIM" run $v.yaml -q --no-plots --record-decisions -o $v >$v.out 2>&1 || { fail "trace run $v"; cat $v.out; }
done
read -r ns nspread ntok nnamed s7 <<<"$(tspread ttok)"
{ [ "$ns" = 8 ] && [ "$nspread" = 0 ] && [ "$ntok" = 28 ] && [ "$ntok" = "$nnamed" ] && [ "$s7" = "$(cat pinned-pod)" ]; } ||
  fail "replayed trace, encoded_endpoint_header: sessions $ns, spread $nspread, echoed $ntok, naming the pick $nnamed, s7 on $s7"
read -r ns nspread ntok nnamed s7 <<<"$(tspread tnotok)"
{ [ "$nspread" -gt 0 ] && [ "$ntok" = 0 ]; } || fail "replayed trace, control (no filter): spread $nspread, echoed $ntok"
"$EPPSIM" run ttok.yaml -q --no-plots --record-decisions -o ttok2 >/dev/null 2>&1 || fail "trace rerun"
cmp -s ttok/decisions.jsonl ttok2/decisions.jsonl || fail "replayed trace echo: not deterministic"

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
# summary.json counts the evictions (only when enabled); each is one of the 429s
nsum=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["flow_control"]["evictions"])' e1/summary.json 2>/dev/null)
{ [ -n "$nsum" ] && [ "$nsum" -gt 0 ] && [ "$nsum" -le "$ne" ]; } || fail "summary.json flow_control.evictions '$nsum' (429s: $ne)"
grep -q '"flow_control"' e0/summary.json && fail "flow_control block without enableEviction"
grep -q "flow control evicted $nsum in-flight requests" e1.out || grep -q "flow control evicted $nsum" e1/report.md || fail "report lacks the evictions"

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
