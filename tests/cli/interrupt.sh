#!/usr/bin/env bash
# SIGINT / SIGTERM during `eppsim run`: exit code 130, nothing written (no
# output directory, no temporary directory).  tests/cli/interrupt.sh EPPSIM
set -uo pipefail
EPPSIM=$(realpath "$1")
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
  for _ in $(seq 1 100); do ls -d out.tmp-* >/dev/null 2>&1 && break; sleep 0.05; done
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
[ $fails -eq 0 ]
