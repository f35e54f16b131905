#!/usr/bin/env bash
# `eppsim serve` applies the experiment's fault schedule in real time:
# pod_crash refuses connections, pod_restart comes back after the readiness
# delay with a cold cache (AllBlocksCleared on its KV events),
# scrape_failure answers /metrics with 503, epp.scrape_latency_ms delays it.
# At --time-scale 0.25 (a model second is 4 s of wall time) a loaded machine
# still checks each state inside its window; the checks bounded from below
# wait for their time, those bounded from above say how late they ran.
# tests/cli/faults.sh EPPSIM
set -uo pipefail
EPPSIM=$(realpath "$1")
. "$(dirname "$0")/lib.sh"
W=$(mktemp -d /tmp/eppsim-cli-faults-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$W"; }
trap cleanup EXIT
cd "$W"
PY=
for p in python3 /usr/bin/python3; do
  if "$p" -c 'import zmq, msgpack' 2>/dev/null; then PY=$p; break; fi
done
[ -n "$PY" ] || { echo "FAIL: python3-zmq and python3-msgpack missing (scripts/install-deps installs them)"; exit 1; }
fails=0
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

cat > f.yaml <<'Y'
cluster:
  readiness_delay_s: 2
  faults:
    - {at_s: 2, kind: pod_crash, pod: 0}
    - {at_s: 2, kind: pod_restart, pod: 1}
    - {at_s: 0, kind: scrape_failure, pod: 2, duration_s: 2.5}
epp: {scrape_latency_ms: 300}
Y
TS=0.25
# serve's clock starts between TL (before it is started) and T0 (after it listens)
TL=$(date +%s.%N)
"$EPPSIM" serve f.yaml --pods 3 --port 0 --kv-events 0 --time-scale $TS >s.out 2>s.err &
pids+=($!)
wait_lines s.out 'kv-events' 3 || { echo "FAIL: serve did not start: $(cat s.err)"; exit 1; }
T0=$(date +%s.%N)
# at T: waits until serve's model time is at least T s; late: its model time at most, now
at() { "$PY" -c "import time,sys; d=float(sys.argv[1])/$TS-(time.time()-float(sys.argv[2])); time.sleep(max(0,d))" "$1" "$T0"; }
late() { "$PY" -c "import time,sys; print('model time <= %.2f s' % ((time.time()-float(sys.argv[1]))*$TS))" "$TL"; }
P0=$(awk '$1=="pod" && $2==0 && $3=="port" {print $4}' s.out); P1=$(awk '$1=="pod" && $2==1 && $3=="port" {print $4}' s.out)
P2=$(awk '$1=="pod" && $2==2 && $3=="port" {print $4}' s.out); EP1=$(awk '$1=="pod" && $2==1 && $3=="kv-events" {print $4}' s.out)
cat > sub.py <<'PY'
import json, sys, time, zmq, msgpack
s = zmq.Context().socket(zmq.SUB)
s.connect(sys.argv[1]); s.setsockopt(zmq.SUBSCRIBE, b""); s.RCVTIMEO = 1000
tags, end = [], time.monotonic() + 60     # the restart is seconds away: generous
while "AllBlocksCleared" not in tags and time.monotonic() < end:
    try:
        t, q, p = s.recv_multipart()
    except zmq.Again:
        continue
    tags += [e[0] for e in msgpack.unpackb(p, raw=False)[1]]
json.dump(tags, open(sys.argv[2], "w"))
PY
"$PY" sub.py "$EP1" tags.json &
SUB=$!
long=$("$PY" -c 'print("".join("word%04d " % i for i in range(200))[:1600])')
req() { curl -s "http://127.0.0.1:$1/v1/completions" -d "{\"prompt\":\"$long\",\"max_tokens\":2}"; }
# before model time 2 (the crash and restart) and 2.5 (the scrape failures end)
[ "$(code http://127.0.0.1:$P0/health)" = 200 ]; check "pod 0 up before its crash" $? "$(late)"
req "$P1" >/dev/null; req "$P1" > warm.json
grep -q '"cached_tokens":384' warm.json; check "pod 1 caches the prompt before its restart" $? "$(late): $(cat warm.json)"
[ "$(code http://127.0.0.1:$P2/metrics)" = 503 ]; check "scrape_failure window: /metrics 503" $? "$(late)"
at 3
# pod 1 is back at model time 4: checked first
curl -s -m 20 "http://127.0.0.1:$P1/health" >/dev/null; rc=$?
[ "$rc" -eq 7 ]; check "restarting pod 1 refuses connections during the readiness delay" $? "curl exit $rc, $(late)"
curl -s -m 20 "http://127.0.0.1:$P0/health" >/dev/null; rc=$?
[ "$rc" -eq 7 ]; check "crashed pod 0 refuses connections (curl exit 7)" $? "curl exit $rc"
t=$(curl -s -o m2.txt -w '%{http_code} %{time_total}' "http://127.0.0.1:$P2/metrics")
[ "${t% *}" = 200 ] && awk -v x="${t#* }" 'BEGIN { exit !(x >= 0.3) }'
check "after the window /metrics answers 200, after the 300 ms scrape latency ($t)" $? ""
at 5
[ "$(code http://127.0.0.1:$P1/health)" = 200 ]; check "pod 1 listens again after the readiness delay" $? ""
req "$P1" > cold.json
grep -q '"cached_tokens"' cold.json; [ $? -ne 0 ]; check "restarted pod 1 has a cold cache" $? "$(cat cold.json)"
curl -s -m 20 "http://127.0.0.1:$P0/health" >/dev/null; [ $? -eq 7 ]; check "crashed pod 0 stays down" $? ""
wait $SUB
grep -q AllBlocksCleared tags.json; check "pod 1's KV events announce AllBlocksCleared" $? "$(cat tags.json)"

[ "$fails" -eq 0 ] || exit 1
echo "all faults checks passed"
