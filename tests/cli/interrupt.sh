#!/usr/bin/env bash
# SIGINT / SIGTERM during `eppsim run`: exit code 130, nothing written (no
# output directory, no temporary directory).  tests/cli/interrupt.sh EPPSIM
set -uo pipefail
EPPSIM=$(realpath "$1")
. "$(dirname "$0")/lib.sh"
W=$(mktemp -d /tmp/eppsim-cli-interrupt-XXXXXX)
trap 'rm -rf "$W"' EXIT
cd "$W"
# long enough (seconds of wall time even in a release build) to be interrupted mid-run
printf 'seed: 1\ncluster: {replicas: 8}\nworkload: {num_requests: 2000000, arrival: {rate: 2000}}\n' > long.yaml
fails=0
for sig in INT TERM; do
  "$EPPSIM" run long.yaml -q --no-plots -o out >/dev/null 2>"err-$sig" &
  pid=$!
  # wait until the run has started writing its temporary directory, then signal
  wait_for 60 test -d "out.tmp-$pid"
  sleep 0.3
  kill -s "$sig" "$pid"
  wait "$pid"; rc=$?
  left=$(ls -d out* 2>/dev/null | tr '\n' ' ')
  if [ $rc -ne 130 ] || [ -n "$left" ] || ! grep -q 'interrupted; nothing was written' "err-$sig"; then
    echo "FAIL SIG$sig: exit $rc (expected 130), left: '${left}'"; cat "err-$sig"; fails=$((fails + 1))
  else
    echo "ok   SIG$sig: exit 130, nothing written"
  fi
done

# sweep: SIGINT keeps the points that completed (each one whole), exits 130,
# and the same command then resumes, skipping them
if "$EPPSIM" sweep --help >/dev/null 2>&1; then
  printf 'seed: 1\ncluster: {replicas: 2}\nworkload: {num_requests: 20000, arrival: {rate: 400}}\n' > base.yaml
  printf 'base: base.yaml\ngrid: {cluster.replicas: [1, 2, 3, 4, 5, 6, 7, 8]}\nseeds: 2\n' > s.yaml
  "$EPPSIM" sweep s.yaml -j 1 -o sw >/dev/null 2>err-sweep &
  pid=$!
  wait_for 120 eval '[ -n "$(ls sw/points/*/summary.json 2>/dev/null)" ]'
  kill -s INT "$pid"
  wait "$pid"; rc=$?
  done1=$(ls sw/points/*/summary.json 2>/dev/null | wc -l)
  partial=$(find sw -name '*.tmp-*' | wc -l)
  if [ $rc -ne 130 ] || [ "$done1" -lt 1 ] || [ "$done1" -ge 16 ] || [ "$partial" -ne 0 ]; then
    echo "FAIL sweep SIGINT: exit $rc (expected 130), $done1 of 16 points done, $partial temporary dirs left"; cat err-sweep
    fails=$((fails + 1))
  else
    "$EPPSIM" sweep s.yaml -j 2 -o sw >/dev/null 2>err-resume; rc=$?
    done2=$(ls sw/points/*/summary.json 2>/dev/null | wc -l)
    if [ $rc -ne 0 ] || [ "$done2" -ne 16 ] || [ ! -f sw/sweep.csv ]; then
      echo "FAIL sweep resume: exit $rc, $done2 of 16 points"; cat err-resume; fails=$((fails + 1))
    else
      echo "ok   sweep: SIGINT kept $done1 completed points, exit 130; resume finished all 16"
    fi
  fi
fi
[ $fails -eq 0 ]
