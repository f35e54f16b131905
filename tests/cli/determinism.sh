#!/usr/bin/env bash
# The same seed gives byte-identical outputs (every file but run-info.json,
# which records wall time and host); another seed gives different requests.
# With `eppsim sweep`, -j 1 and -j 2 give identical sweep directories.
#   tests/cli/determinism.sh EPPSIM
set -uo pipefail
EPPSIM=$(realpath "$1")
SRC=$(cd "$(dirname "$0")/../.." && pwd)
W=$(mktemp -d /tmp/eppsim-cli-determinism-XXXXXX)
trap 'rm -rf "$W"' EXIT
cd "$W"
fails=0
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
cat > exp.yaml <<'YAML'
seed: 7
cluster: {replicas: 3, faults: [{at_s: 3, kind: pod_crash, pod: 1}]}
epp: {outages: [{start_s: 1, end_s: 2}]}
gateway: {failure_mode: FailOpen}
workload:
  num_requests: 300
  sheddable_fraction: 0.2
  arrival: {process: gamma, rate: 40, cv: 2}
  shared_prefix: {num_groups: 10, system_prompt_len: 500, question_len: 200, output_len: 100}
YAML
"$EPPSIM" run exp.yaml -q --no-plots -o a || fail "run a"
"$EPPSIM" run exp.yaml -q --no-plots -o b || fail "run b"
"$EPPSIM" run exp.yaml -q --no-plots -o c --seed 8 || fail "run c"
# a trace replay too (the reader, content synthesis and routing)
printf 'name: replay\nseed: 3\ncluster: {replicas: 2}\nworkload: {type: trace, trace: {file: %s/tests/data/traces/mooncake_sample.jsonl}}\n' "$SRC" > trace.yaml
"$EPPSIM" run trace.yaml -q --no-plots -o t1 || fail "run t1"
"$EPPSIM" run trace.yaml -q --no-plots -o t2 || fail "run t2"
for pair in "a b" "t1 t2"; do
  set -- $pair
  diff -r -q -x run-info.json -x plots "$1" "$2" >/dev/null || fail "$1 and $2 differ: $(diff -r -q -x run-info.json -x plots "$1" "$2" | head -3)"
  [ -n "$(ls "$1")" ] || fail "$1 is empty"
done
cmp -s a/requests.csv c/requests.csv && fail "seeds 7 and 8 gave the same requests.csv"
[ $fails -eq 0 ] && echo "ok   run: same seed byte-identical, other seed differs"

if "$EPPSIM" sweep --help >/dev/null 2>&1; then
  cp "$SRC/examples/prefix-heavy.yaml" base.yaml
  printf 'base: base.yaml\ngrid: {cluster.replicas: [2, 3], workload.num_requests: [150]}\nseeds: 2\n' > s.yaml
  "$EPPSIM" sweep s.yaml -q -j 1 -o s1 >/dev/null 2>&1 || fail "sweep -j 1"
  "$EPPSIM" sweep s.yaml -q -j 2 -o s2 >/dev/null 2>&1 || fail "sweep -j 2"
  d=$(diff -r -q -x run-info.json -x plots -x '*.log' s1 s2)
  [ -z "$d" ] || fail "sweep -j 1 and -j 2 differ: $(echo "$d" | head -3)"
  [ -f s1/sweep.csv ] || fail "sweep wrote no sweep.csv"
  [ $fails -eq 0 ] && echo "ok   sweep: -j 1 and -j 2 identical"
fi
[ $fails -eq 0 ]
