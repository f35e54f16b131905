#!/usr/bin/env bash
# Cross-replica sync of in-flight state end to end: three EPP replicas with
# the token-load and active-request scorers route differently when a
# dataLayer syncer shares their in-flight counts (published every
# crossReplicaSyncInterval) than when each counts its own; the synced run is
# byte-identical for a seed, its epp-config.yaml keeps the dataLayer and reads
# back, and a reference to a plugin that is not a syncer is refused naming
# file, line and key.
#   tests/cli/sync_replicas.sh EPPSIM
set -uo pipefail
EPPSIM=$(realpath "$1")
SRC=$(cd "$(dirname "$0")/../.." && pwd)
W=$(mktemp -d /tmp/eppsim-cli-sync-XXXXXX)
trap 'rm -rf "$W"' EXIT
cd "$W"
fails=0
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
cat > sync.yaml <<'YAML'
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: token-load-scorer
- type: active-request-scorer
- type: eppsim-shared-syncer
  name: shared
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: token-load-scorer
  - pluginRef: active-request-scorer
dataLayer:
  crossReplicaSyncerPluginRef: shared
  crossReplicaSyncInterval: 200ms
YAML
sed '/eppsim-shared-syncer/,/name: shared/d; /^dataLayer/,$d' sync.yaml > local.yaml
for v in sync local; do
  cat > exp-$v.yaml <<YAML
name: $v
seed: 1
cluster: {replicas: 4}
epp: {config_file: $W/$v.yaml, replicas: 3}
workload:
  num_requests: 300
  arrival: {process: poisson, rate: 30}
YAML
  "$EPPSIM" run exp-$v.yaml --no-plots --quiet --out run-$v --force > /dev/null 2> err-$v || { fail "run $v"; cat err-$v; }
done
grep -q "shared is eppsim's shared store" err-sync || fail "no syncer notice"
cmp -s <(cut -d, -f1,5 run-sync/requests.csv | sort) <(cut -d, -f1,5 run-local/requests.csv | sort) &&
  fail "synced and local runs routed every request alike"
# epp.sync_delay_ms: 0 is the ideal store; a delay moves routing
sed 's/replicas: 3}/replicas: 3, sync_delay_ms: 0}/' exp-sync.yaml > exp-d0.yaml
sed 's/replicas: 3}/replicas: 3, sync_delay_ms: 400}/' exp-sync.yaml > exp-d400.yaml
for d in d0 d400; do
  "$EPPSIM" run exp-$d.yaml --no-plots --quiet --out run-$d --force > /dev/null 2>&1 || fail "run $d"
done
cmp -s run-sync/requests.csv run-d0/requests.csv || fail "sync_delay_ms: 0 moved results"
cmp -s <(cut -d, -f1,5 run-sync/requests.csv | sort) <(cut -d, -f1,5 run-d400/requests.csv | sort) &&
  fail "a 400 ms propagation delay routed every request alike"
"$EPPSIM" run exp-sync.yaml --no-plots --quiet --out run-sync2 --force > /dev/null 2>&1 || fail "second synced run"
cmp -s run-sync/requests.csv run-sync2/requests.csv || fail "synced run not deterministic"
grep -q "crossReplicaSyncerPluginRef: shared" run-sync/epp-config.yaml || fail "epp-config.yaml lost the dataLayer"
"$EPPSIM" explain --epp-config run-sync/epp-config.yaml --state "$SRC/docs/explain-example/state.json" > /dev/null 2> err-re ||
  { fail "the run's epp-config.yaml does not read back"; cat err-re; }
sed 's/crossReplicaSyncerPluginRef: shared/crossReplicaSyncerPluginRef: token-load-scorer/' sync.yaml > bad.yaml
sed "s#$W/sync.yaml#$W/bad.yaml#" exp-sync.yaml > exp-bad.yaml
"$EPPSIM" run exp-bad.yaml --no-plots --quiet --out run-bad > /dev/null 2> err-bad; rc=$?
[ $rc = 2 ] && grep -q "bad.yaml:14: dataLayer.crossReplicaSyncerPluginRef: the plugin token-load-scorer is not a fwkdl.CrossReplicaSyncer" err-bad ||
  { fail "bad syncer reference: rc=$rc"; cat err-bad; }
[ -e run-bad ] && fail "refused run wrote output"
[ $fails = 0 ] && echo "ok: cross-replica sync checked" || exit 1
