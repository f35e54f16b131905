#!/usr/bin/env bash
# Pod labels from Kubernetes manifests: each pool pod carries the template
# labels of its Deployment (prefill pods first), so a label-selector-filter in
# the EPP's config routes only to the Deployment it selects; a bad label is
# refused naming the manifest file, line and key.
#   tests/cli/manifest_labels.sh EPPSIM
set -uo pipefail
EPPSIM=$(realpath "$1")
W=$(mktemp -d /tmp/eppsim-cli-mflabels-XXXXXX)
trap 'rm -rf "$W"' EXIT
cd "$W"
fails=0
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
dep() {   # name zone replicas
  cat <<YAML
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: $1}
spec:
  replicas: $3
  selector:
    matchLabels: {app: m, topology.kubernetes.io/zone: $2}
  template:
    metadata:
      labels:
        app: m
        topology.kubernetes.io/zone: $2
    spec:
      containers:
      - name: vllm
        image: vllm/vllm-openai:v0.11.0
        args: [--model, meta-llama/Llama-3.1-8B-Instruct]
YAML
}
{
  cat <<'YAML'
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: m-pool}
spec:
  selector: {matchLabels: {app: m}}
  targetPorts: [{number: 8000}]
  endpointPickerRef: {name: m-epp, port: {number: 9002}}
---
apiVersion: v1
kind: Service
metadata: {name: m-epp}
spec:
  selector: {app: m-epp}
  ports: [{port: 9002}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: m-epp}
spec:
  selector: {matchLabels: {app: m-epp}}
  template:
    metadata: {labels: {app: m-epp}}
    spec:
      containers:
      - name: epp
        image: ghcr.io/llm-d/llm-d-router:v0.10.0
        args:
        - --pool-name=m-pool
        - --config-text
        - '{"apiVersion": "llm-d.ai/v1alpha1", "kind": "EndpointPickerConfig", "plugins": [{"type": "label-selector-filter", "parameters": {"matchLabels": {"topology.kubernetes.io/zone": "zone-b"}}}, {"type": "queue-scorer"}], "schedulingProfiles": [{"name": "default", "plugins": [{"pluginRef": "label-selector-filter"}, {"pluginRef": "queue-scorer"}]}]}'
YAML
  dep zone-a zone-a 2
  dep zone-b zone-b 2
} > pool.yaml
printf 'name: mf\nseed: 1\nworkload: {num_requests: 60}\n' > exp.yaml
"$EPPSIM" run exp.yaml --manifest pool.yaml --quiet --no-plots --out run --force > /dev/null 2> err || { fail "run"; cat err; }
e=$(find run -name experiment.yaml | head -1)
grep -q 'pod_labels: \[{"app": "m", "topology.kubernetes.io/zone": "zone-a"}, {"app": "m", "topology.kubernetes.io/zone": "zone-a"}, {"app": "m", "topology.kubernetes.io/zone": "zone-b"}, {"app": "m", "topology.kubernetes.io/zone": "zone-b"}\]' "$e" ||
  { fail "pod_labels"; grep pod_labels "$e"; }
r=$(find run -name requests.csv | head -1)
pods=$(cut -d, -f5 "$r" | tail -n +2 | sort -u | tr '\n' ' ')
[ "$pods" = "m-pool-2 m-pool-3 " ] || fail "label-selector-filter sent requests to: $pods (want the zone-b pods m-pool-2, m-pool-3)"
# labels the experiment gives (topology: hosts) are kept, merged pod by pod
printf 'name: mf\nseed: 1\nworkload: {num_requests: 20}\ncluster:\n  pod_labels:\n  - {kubernetes.io/hostname: h1, app: other}\n  - {kubernetes.io/hostname: h2}\n' > exp2.yaml
"$EPPSIM" run exp2.yaml --manifest pool.yaml --quiet --no-plots --out run2 --force > /dev/null 2> err2 || { fail "run merged"; cat err2; }
grep -q "exp2.yaml:6: cluster.pod_labels: merged with the Deployments' template labels" err2 || { fail "merge notice"; cat err2; }
e=$(find run2 -name experiment.yaml | head -1)
grep -q 'pod_labels: \[{"app": "m", "topology.kubernetes.io/zone": "zone-a", "kubernetes.io/hostname": "h1"}, {"app": "m", "topology.kubernetes.io/zone": "zone-a", "kubernetes.io/hostname": "h2"}, {"app": "m", "topology.kubernetes.io/zone": "zone-b", "kubernetes.io/hostname": "h1"}, {"app": "m", "topology.kubernetes.io/zone": "zone-b", "kubernetes.io/hostname": "h2"}\]' "$e" ||
  { fail "merged pod_labels"; grep pod_labels "$e"; }
# a label value over 63 characters names the manifest line and key
long=$(printf 'z%.0s' $(seq 1 70))
awk -v l="$long" '/topology.kubernetes.io\/zone: zone-b$/ && ++n == 1 {sub("zone-b", l)} {print}' pool.yaml > bad.yaml
line=$(grep -n "zone: $long" bad.yaml | cut -d: -f1)
"$EPPSIM" run exp.yaml --manifest bad.yaml --quiet --no-plots --out run-bad > /dev/null 2> err; rc=$?
[ $rc = 2 ] && grep -q "bad.yaml:$line: Deployment/zone-b: spec.template.metadata.labels.topology.kubernetes.io/zone: label value longer than 63 characters" err ||
  { fail "bad label: rc=$rc"; cat err; }
# spec.hostname of a pod template reaches the pods (cluster.pod_hostnames, ""
# where a template has none), for the topology extractor's fallback
awk '/^metadata: \{name: zone-b\}$/ {b = 1} b && /^    spec:$/ {print; print "      hostname: host-b"; b = 0; next} {print}' pool.yaml > host.yaml
"$EPPSIM" run exp.yaml --manifest host.yaml --quiet --no-plots --out run-host > /dev/null 2> err || { fail "run hostname"; cat err; }
e=$(find run-host -name experiment.yaml | head -1)
grep -q 'pod_hostnames: \["", "", "host-b", "host-b"\]' "$e" || { fail "pod_hostnames"; grep pod_hostnames "$e"; }
sed 's/hostname: host-b/hostname: Host_B/' host.yaml > badhost.yaml
"$EPPSIM" run exp.yaml --manifest badhost.yaml --quiet --no-plots --out run-badhost > /dev/null 2> err; rc=$?
line=$(grep -n "hostname: Host_B" badhost.yaml | cut -d: -f1)
[ $rc = 2 ] && grep -q "badhost.yaml:$line: Deployment/zone-b: spec.template.spec.hostname: not a hostname" err ||
  { fail "bad hostname: rc=$rc"; cat err; }
[ $fails = 0 ] && echo "ok: pod labels from manifests" || exit 1
