#!/usr/bin/env bash
# `--set KEY=VALUE` on run and sweep: any key, typed and checked like the
# file, recorded in experiment.yaml; bad ones exit 2 naming --set.
#   tests/cli/overrides.sh EPPSIM
set -uo pipefail
EPPSIM=$(realpath "$1")
W=$(mktemp -d /tmp/eppsim-cli-overrides-XXXXXX)
trap 'rm -rf "$W"' EXIT
cd "$W"
fails=0
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
printf 'name: o\ncluster: {replicas: 2}\nworkload: {num_requests: 40}\n' > exp.yaml
"$EPPSIM" run exp.yaml -q --no-plots -o r --set server.max_num_seqs=128 --set cluster.replicas=4 \
  --set epp.weights.prefix-cache-scorer=5 2> err.txt || fail "run --set: $(cat err.txt)"
grep -q '^  max_num_seqs: 128$' r/experiment.yaml || fail "server.max_num_seqs not recorded"
grep -q '^  replicas: 4$' r/experiment.yaml || fail "cluster.replicas not recorded"
[ "$(grep -c '"name":[[:space:]]*"vllm' r/summary.json)" = 4 ] || fail "--set cluster.replicas=4 did not give 4 pods"
grep -A1 'pluginRef: prefix-cache-scorer' r/epp-config.yaml | grep -q 'weight: 5' || fail "epp.weights short form not applied"
check_bad() {   # expected message, then the --set arguments
  local want=$1; shift
  "$EPPSIM" run exp.yaml -q --no-plots -o bad "$@" > /dev/null 2> err.txt; local rc=$?
  [ $rc = 2 ] || fail "$* exits $rc, not 2"
  grep -qF -- "$want" err.txt || fail "$*: '$(cat err.txt)' lacks '$want'"
  [ -e bad ] && fail "$* wrote an output directory"
}
check_bad '--set server.max_num_seqs=lots: server.max_num_seqs: expected an integer' --set server.max_num_seqs=lots
# a key under a section the file has: blamed on the option, not on the file's line
check_bad 'eppsim: --set server.bogus=1: server.bogus: unknown key' --set server.bogus=1
check_bad '--set servr.gpu=h100: servr: unknown key' --set servr.gpu=h100
check_bad '--set nothing: expected KEY.PATH=VALUE' --set nothing
check_bad "no plugin named 'nosuch'" --set epp.weights.nosuch=1
# sweep: the base changes, and a changed --set re-runs the points
printf 'base: {name: s, cluster: {replicas: 2}, workload: {num_requests: 20}, results: {plots: false}}\ngrid: {workload.arrival.rate: [5, 10]}\n' > sw.yaml
"$EPPSIM" sweep sw.yaml -q -j 1 -o sw --set server.max_num_seqs=64 2> err.txt || fail "sweep --set: $(cat err.txt)"
grep -q '^  max_num_seqs: 64$' sw/points/1-seed1/experiment.yaml || fail "sweep --set not applied to the points"
"$EPPSIM" sweep sw.yaml -j 1 -o sw --set server.max_num_seqs=32 > /dev/null 2> err.txt || fail "sweep --set again: $(cat err.txt)"
grep -q 'point 1 seed 1 changed since it ran (server.max_num_seqs: 64 -> 32' err.txt || fail "a changed --set did not re-run: $(cat err.txt)"
"$EPPSIM" sweep sw.yaml -q -o sw2 --set server.max_num_seqs=x > /dev/null 2> err.txt && fail "sweep --set bad value exits 0"
grep -qF -- 'eppsim: --set server.max_num_seqs=x: server.max_num_seqs: expected an integer' err.txt ||
  fail "sweep --set bad value: $(cat err.txt)"
echo "overrides: $fails failed"
[ "$fails" = 0 ]
