#!/usr/bin/env bash
# `eppsim explain` shows flow control for the request explained: the
# detector's value and verdict, the request's band and flow, the fairness and
# ordering policies of its band, the usage limit policy's ceiling of every
# band (priority-holdback, soft-reflective-ceiling) and whether the request
# would be dispatched, held or rejected.
#   tests/cli/explain_flow.sh EPPSIM
set -uo pipefail
EPPSIM=$(realpath "$1")
W=$(mktemp -d /tmp/eppsim-cli-explainflow-XXXXXX)
trap 'rm -rf "$W"' EXIT
cd "$W"
fails=0
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
# 2 pods, 3 and 2 requests in flight against maxConcurrency 10: saturation 0.25
cat > state.json <<'JSON'
{"now_ms": 1000,
 "endpoints": [
   {"name": "a", "metrics": {"waiting": 0, "running": 3, "kv_cache_usage": 0.1, "age_ms": 5}, "inflight": {"requests": 3}},
   {"name": "b", "metrics": {"waiting": 0, "running": 2, "kv_cache_usage": 0.1, "age_ms": 5}, "inflight": {"requests": 2}}],
 "request": {"model": "m", "prompt": "hello", "priority": PRIO,
             "headers": {"x-llm-d-inference-fairness-id": "tenant-a"}}}
JSON
for p in 10 0 -5; do sed "s/PRIO/$p/" state.json > s$p.json; done
cfg() {   # usage-limit plugin line, its reference
  cat <<YAML
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
featureGates: [flowControl]
plugins:
- type: queue-scorer
- type: concurrency-detector
  parameters: {maxConcurrency: 10}
- type: round-robin-fairness-policy
- type: edf-ordering-policy
$1
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: queue-scorer
flowControl:
  saturationDetector: {pluginRef: concurrency-detector}
  usageLimitPolicyPluginRef: usage
  priorityBands:
  - {priority: 10, fairnessPolicyRef: round-robin-fairness-policy, orderingPolicyRef: edf-ordering-policy}
  - {priority: 0}
  - {priority: -5}
YAML
}
cfg "- {type: priority-holdback-policy, name: usage, parameters: {minCeiling: 0.1, maxCeiling: 1.0}}" > holdback.yaml
cfg "- {type: soft-reflective-ceiling-policy, name: usage}" > soft.yaml
for p in 10 0 -5; do "$EPPSIM" explain --epp-config holdback.yaml --state s$p.json --json > h$p.json 2> err || { fail "explain holdback $p"; cat err; }; done
"$EPPSIM" explain --epp-config holdback.yaml --state s10.json > h10.txt 2>&1 || fail "explain table"
# priority-holdback: ceilings 1, 0.55, 0.1 for bands 10, 0, -5 at saturation 0.25
grep -q '"saturation_detector": {"name": "concurrency-detector", "type": "concurrency-detector", "saturation": 0.25, "saturated": false}' h10.json || fail "detector"
grep -q '"ceilings": {"10": 1, "0": 0.55, "-5": 0.09999999999999998}' h10.json || { fail "holdback ceilings"; cat h10.json; }
grep -q '"flow": "tenant-a"' h10.json || fail "flow id"
grep -q '"fairness": {"name": "round-robin-fairness-policy", "type": "round-robin-fairness-policy"}' h10.json || fail "band 10 fairness"
grep -q '"ordering": {"name": "edf-ordering-policy"' h10.json || fail "band 10 ordering"
grep -q '"fairness": {"name": "global-strict-fairness-policy"' h0.json || fail "band 0 default fairness"
grep -q '"outcome": 200' h0.json && grep -q '"verdict": "dispatched' h0.json || fail "band 0 dispatched"
grep -A1 '"flow_control"' h-5.json > /dev/null
python3 - h-5.json <<'PY' || fail "band -5 held"
import json, sys
fc = json.load(open(sys.argv[1]))["flow_control"]
assert fc["outcome"] == 202 and fc["verdict"].startswith("held in its queue: the saturation"), fc
assert fc["band"] == -5 and fc["band_listed"] is True
PY
grep -q "usage limit usage (priority-holdback-policy): band 10 ceiling 1.000, band 0 ceiling 0.550, band -5 ceiling 0.100" h10.txt || { fail "table"; cat h10.txt; }
# soft-reflective-ceiling: reflective ceilings 1 - i * s / (n - 1) are 0.875 and 0.75 at s = 0.25:
# above s, every band open; at s = 0.8 (8 + 8 in flight) both lower bands are gated and,
# at the first cycle of a period of round(0.8 / 0.2) = 4, shut
"$EPPSIM" explain --epp-config soft.yaml --state s0.json --json > soft.json 2> err || { fail "explain soft"; cat err; }
grep -q '"ceilings": {"10": 1, "0": 1, "-5": 1}' soft.json || { fail "soft ceilings open"; grep ceilings soft.json; }
sed 's/"running": [0-9]*, /"running": 8, /; s/"requests": [0-9]*/"requests": 8/g' s0.json > busy.json
"$EPPSIM" explain --epp-config soft.yaml --state busy.json --json > soft2.json 2> err || { fail "explain soft busy"; cat err; }
grep -q '"saturation": 0.8,' soft2.json && grep -q '"ceilings": {"10": 1, "0": 0, "-5": 0}' soft2.json &&
  grep -q '"verdict": "held in its queue: the saturation is at or above its band' soft2.json || { fail "soft ceilings shut"; cat soft2.json; }
# at s = 0.6 band 0 (ceiling 0.55) stops the cycle before band -5 is reached
sed 's/"running": [0-9]*, /"running": 6, /; s/"requests": [0-9]*/"requests": 6/g' s-5.json > mid.json
"$EPPSIM" explain --epp-config holdback.yaml --state mid.json --json > hol.json 2> /dev/null || fail "explain head of line"
grep -q '"verdict": "held in its queue: a higher-priority band is at its usage limit (head of line)"' hol.json || { fail "head of line"; cat hol.json; }
# flow control off: only the detector sheds sheddable requests
sed '/featureGates/d' holdback.yaml > off.yaml
"$EPPSIM" explain --epp-config off.yaml --state s-5.json --json > off.json 2> /dev/null || fail "explain off"
grep -q '"gate": false' off.json && grep -q '"verdict": "admitted: flow control is off' off.json || { fail "gate off"; cat off.json; }
[ $fails = 0 ] && echo "ok: explain shows flow control" || exit 1
