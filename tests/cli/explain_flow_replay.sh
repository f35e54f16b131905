#!/usr/bin/env bash
# `eppsim explain --from-run` replays flow control at the request's arrival:
# the bands and queued requests of the arrival record are submitted again,
# then the request, and the dispatch cycles run as the EPP runs them at an
# arrival.  In a saturated run (concurrency-detector, 2 EPP replicas, a
# round-robin + EDF band, maxRequests and a TTL) the replayed verdict
# (dispatched / held / rejected) is the run's for every request, with the
# static and the priority-holdback usage limits (docs/scheduler.md).
#   tests/cli/explain_flow_replay.sh EPPSIM
set -uo pipefail
EPPSIM=$(realpath "$1")
W=$(mktemp -d /tmp/eppsim-cli-flowreplay-XXXXXX)
trap 'rm -rf "$W"' EXIT
cd "$W"
fails=0
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
python3 - <<'PY'
import random
random.seed(5)
t = 0.0
with open('t.jsonl', 'w') as f:
    for i in range(200):
        t += random.expovariate(60) * 1000
        f.write('{"arrival_ms": %.3f, "segments": [[%d, 200], [%d, %d]], "output_tokens": %d, "priority": %d, '
                '"headers": {"x-gateway-inference-fairness-id": "%s"}}\n'
                % (t, random.randint(1, 5), 1000 + i, random.randint(50, 400), random.randint(20, 200),
                   random.choice([10, 10, 0, -5]), random.choice(['a', 'b', 'c'])))
PY
cfg() {   # extra plugin line, extra flowControl line
  cat <<YAML
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
featureGates: [flowControl]
plugins:
- type: queue-scorer
- type: prefix-cache-scorer
- type: concurrency-detector
  parameters: {maxConcurrency: 6}
- type: round-robin-fairness-policy
- type: edf-ordering-policy
$1
schedulingProfiles:
- name: default
  plugins:
  - {pluginRef: queue-scorer, weight: 1}
  - {pluginRef: prefix-cache-scorer, weight: 2}
flowControl:
  saturationDetector: {pluginRef: concurrency-detector}
  maxRequests: "25"
  defaultRequestTTL: 1500ms
$2
  priorityBands:
  - {priority: 10, fairnessPolicyRef: round-robin-fairness-policy, orderingPolicyRef: edf-ordering-policy}
  - {priority: 0}
YAML
}
cfg "" "" > static.yaml
cfg "- {type: priority-holdback-policy, name: usage, parameters: {minCeiling: 0.3, maxCeiling: 1.0}}" \
    "  usageLimitPolicyPluginRef: usage" > holdback.yaml
for v in static holdback; do
  printf 'name: fc-%s\nseed: 1\nserver: {gpu: h100-sxm-80gb, model: llama-3.1-8b}\ncluster: {replicas: 2}\nepp: {config_file: %s.yaml, replicas: 2}\nworkload: {type: trace, trace: {file: t.jsonl}}\ngateway: {ext_proc_timeout_ms: 60000}\n' "$v" "$v" > $v-exp.yaml
  "$EPPSIM" run $v-exp.yaml --record-decisions --no-plots --out run-$v --force > /dev/null 2> err || { fail "run $v"; cat err; continue; }
  python3 - "$EPPSIM" run-$v <<'PY' || fail "replayed verdicts of $v"
import json, subprocess, sys
eppsim, run = sys.argv[1], sys.argv[2]
want = {}   # the run's verdict at each request's arrival
for line in open(run + '/decisions.jsonl'):
    j = json.loads(line)
    if j.get('event') == 'arrival':
        want.setdefault(j['request_id'], 'held')   # held until cancelled: no later record
    elif 'flow_at_arrival' in j:
        want[j['request_id']] = j['flow_at_arrival']
code = {200: 'dispatched', 202: 'held', 429: 'rejected', 503: 'held'}
count, bad, queued = {}, 0, 0
for rid, w in sorted(want.items()):
    out = subprocess.run([eppsim, 'explain', '--from-run', run, '--request', str(rid), '--json'],
                         capture_output=True, text=True)
    if out.returncode:
        print('explain failed', rid, out.stderr); bad += 1; continue
    fc = json.loads(out.stdout)['flow_control']
    queued = max(queued, fc['replayed']['queued'])
    count[w] = count.get(w, 0) + 1
    if code[fc['outcome']] != w:
        bad += 1; print('request', rid, 'run', w, 'explain', fc['outcome'], fc['verdict'])
print(run, len(want), 'requests, run verdicts', count, 'most queued', queued, 'disagreements', bad)
assert len(want) == 200 and bad == 0
assert all(count.get(k, 0) >= 10 for k in ('dispatched', 'held', 'rejected')), count
assert queued >= 20
PY
done
# a state's arrival: 3 queued at priority 0, 4 + 4 in flight against maxConcurrency 6 x 2
cat > state.json <<'JSON'
{"now_ms": 1000,
 "endpoints": [
   {"name": "a", "metrics": {"running": 4}, "inflight": {"requests": 4}},
   {"name": "b", "metrics": {"running": 4}, "inflight": {"requests": 4}}],
 "request": {"model": "m", "prompt": "hello", "priority": 0},
 "arrival": {"bands": [[10, "b"], [0, null]],
             "queued": [{"model": "m", "prompt": "x", "enq_ms": 990}, {"model": "m", "prompt": "y", "enq_ms": 995},
                        {"model": "m", "prompt": "z", "enq_ms": 999}]}}
JSON
"$EPPSIM" explain --epp-config static.yaml --state state.json --json > s.json 2> err || { fail "explain state"; cat err; }
# 8 of 12 in flight: the 3 queued go first (11 of 12), the request makes 12 of 12 - dispatched
python3 - s.json <<'PY' || fail "state arrival: dispatched after 3"
import json, sys
fc = json.load(open(sys.argv[1]))["flow_control"]
assert fc["outcome"] == 200 and fc["replayed"] == {"queued": 3, "dispatched_before": 3}, fc
PY
sed 's/"requests": 4/"requests": 5/' state.json > busy.json   # 10 of 12: 2 go, then the pool is full
"$EPPSIM" explain --epp-config static.yaml --state busy.json --json > b.json 2> err || { fail "explain busy"; cat err; }
python3 - b.json <<'PY' || fail "state arrival: held behind 2"
import json, sys
fc = json.load(open(sys.argv[1]))["flow_control"]
assert fc["outcome"] == 202 and fc["replayed"] == {"queued": 3, "dispatched_before": 2}, fc
assert fc["verdict"].startswith("held in its queue"), fc
PY
"$EPPSIM" explain --epp-config static.yaml --state busy.json > b.txt 2>&1 || fail "explain busy table"
grep -q "replayed at its arrival: 3 requests queued, 2 of them out of the queue before it" b.txt || { fail "table line"; cat b.txt; }
sed 's/"enq_ms": 999/"enq_ms": 1001/' state.json > late.json
"$EPPSIM" explain --epp-config static.yaml --state late.json > /dev/null 2> err && fail "enqueued after arrival accepted"
grep -q "arrival.queued\[2\]: enq_ms is after the arrival" err || { fail "late error"; cat err; }
[ "$fails" -eq 0 ] && echo "explain_flow_replay: ok"
exit $((fails > 0))
