#!/usr/bin/env bash
# `eppsim gateway`: routes, streaming pass-through, keep-alive, errors, a dead
# pod, a client that hangs up, in-process pods (--serve), scrapes on kept-alive
# connections, a local connect error, bad input.
# Built for a loaded machine (ctest -j N): every wait polls for its condition
# (the gateway's /metrics, a log line, a pod's gauge) with a 20 s deadline;
# nothing is timed.
#   tests/cli/gateway.sh EPPSIM
set -uo pipefail
EPPSIM=$(realpath "$1")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
W=$(mktemp -d /tmp/eppsim-cli-gateway-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$W"; }
trap cleanup EXIT
cd "$W"
command -v curl >/dev/null || { echo "FAIL: curl missing (scripts/install-deps installs it)"; exit 1; }
fails=0
check() {   # check NAME CONDITION-EXIT-CODE DETAIL
  if [ "$2" -eq 0 ]; then echo "ok   $1"; else echo "FAIL $1: $3"; fails=$((fails + 1)); fi
}
DEADLINE=20   # seconds any wait may take before the test fails
wait_for() {   # wait_for COMMAND...: until it succeeds, at most DEADLINE seconds
  local end=$((SECONDS + DEADLINE))
  until "$@"; do [ $SECONDS -lt $end ] || return 1; sleep 0.05; done
}
has_lines() { local n; n=$(grep -c "$2" "$1" 2>/dev/null); [ "${n:-0}" -ge "$3" ]; }
wait_line() {   # wait_line FILE PATTERN COUNT (a failure ends the test: nothing after can run)
  wait_for has_lines "$@" && return 0
  echo "FAIL no $3 lines '$2' in $1 within ${DEADLINE} s: $(cat "$1" "${1%.out}.err" 2>/dev/null | tail -n 5)"; exit 1
}
gw_metric() {   # gw_metric URL SAMPLE: the value of a sample of the gateway's /metrics ('' when absent)
  curl -s --max-time 5 "$1/metrics" | awk -v s="$2" '$1 == s {print $2}'
}
metric_is() { [ "$(gw_metric "$1" "$2")" = "$3" ]; }
metric_over() { local v; v=$(gw_metric "$1" "$2"); [ -n "$v" ] && [ "$v" -gt "$3" ]; }
pod_running() {   # the sum of vllm:num_requests_running over pods on ports $@
  for p in "$@"; do curl -s --max-time 5 127.0.0.1:$p/metrics | awk '/^vllm:num_requests_running/ {print $2}'; done |
    python3 -c 'import sys; print(int(sum(float(x) for x in sys.stdin)))'
}
running_zero() { [ "$(pod_running "$@")" = 0 ]; }

"$EPPSIM" serve --pods 2 --port 0 --time-scale 10 >serve.out 2>serve.err &
pids+=($!)
wait_line serve.out '^pod ' 2
P0=$(awk '$2==0 {print $4}' serve.out); P1=$(awk '$2==1 {print $4}' serve.out)
# a third "pod" nobody listens on: a port taken and released
DEAD=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$EPPSIM" gateway --pods 127.0.0.1:$P0,127.0.0.1:$P1,127.0.0.1:$DEAD --port 0 --time-scale 10 --record rec \
  >gw.out 2>gw.err &
GW=$!
pids+=($GW)
wait_line gw.out '^gateway port ' 1; check "gateway prints its port" $? "$(cat gw.out gw.err)"
U=http://127.0.0.1:$(awk '{print $3}' gw.out)
POOL=vllm-llama-3.1-8b
ready() { echo "eppsim_gateway_endpoint_ready{endpoint=\"$POOL-$1\"}"; }
scraped() { echo "eppsim_gateway_endpoint_scraped{endpoint=\"$POOL-$1\"}"; }
# the first scrapes: both pods read, the dead one refused (out of the candidates)
wait_for metric_is $U "$(scraped 0)" 1 && wait_for metric_is $U "$(scraped 1)" 1 && wait_for metric_is $U "$(ready 2)" 0
check "the gateway's /metrics: both pods scraped, the dead one not ready" $? "$(curl -s $U/metrics | head -n 12)"

[ "$(curl -s -o /dev/null -w '%{http_code}' $U/health)" = 200 ]; check "/health 200" $? ""
[ "$(curl -s -o /dev/null -w '%{http_code}' $U/nope)" = 404 ]; check "unknown route 404" $? ""
[ "$(curl -s -o /dev/null -w '%{http_code}' $U/v1/completions)" = 405 ]; check "GET completions 405" $? ""
[ "$(curl -s -o /dev/null -w '%{http_code}' $U/v1/completions -d '{bad')" = 400 ]; check "bad JSON 400 (the gateway parses the body)" $? ""
[ "$(curl -s -o /dev/null -w '%{http_code}' $U/v1/completions -d '{"prompt":"x","model":"other"}')" = 404 ]
check "the pod's own error (unknown model 404) passes through" $? ""

curl -s -D head.txt $U/v1/completions -d '{"prompt":"abc","max_tokens":12}' > one.json
python3 - one.json <<'PY'; check "non-stream: the pod's JSON whole" $? "$(cat one.json)"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["usage"]["completion_tokens"] == 12 and len(j["choices"][0]["text"]) == 48, j
PY
grep -qi '^x-gateway-destination-endpoint: 127.0.0.1:' head.txt && grep -qi '^x-eppsim-pod: vllm-llama-3.1-8b-[01]' head.txt
check "response names the pod (x-gateway-destination-endpoint, x-eppsim-pod)" $? "$(cat head.txt)"
curl -sN $U/v1/chat/completions -d '{"messages":[{"role":"user","content":"hi"}],"max_tokens":25,"stream":true,"stream_options":{"include_usage":true}}' > stream.txt
n=$(grep -c '"delta":' stream.txt)
[ "$n" -eq 25 ] && tail -n 2 stream.txt | grep -q '^data: \[DONE\]' && grep -q '"completion_tokens":25' stream.txt
check "chat stream: 25 SSE events, usage, [DONE]" $? "got $n: $(tail -n 3 stream.txt)"

python3 - "${U##*:}" <<'PY'; check "keep-alive: three requests on one client connection" $? ""
import json, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
f = s.makefile("rb")
for k in range(3):
    body = json.dumps({"prompt": "keep %d" % k, "max_tokens": 3}).encode()
    s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    assert f.readline().startswith(b"HTTP/1.1 200")
    n = 0
    while True:
        h = f.readline()
        if h == b"\r\n": break
        assert not h.lower().startswith(b"connection: close"), h
        if h.lower().startswith(b"content-length:"): n = int(h.split(b":")[1])
    assert json.loads(f.read(n))["usage"]["completion_tokens"] == 3
PY

# the dead pod: refused scrapes take it out of the candidates; nothing reaches it
for k in $(seq 1 12); do curl -s -o /dev/null -w '%{http_code}\n' $U/v1/completions -d "{\"prompt\":\"req $k\",\"max_tokens\":2}"; done > codes.txt
[ "$(sort -u codes.txt)" = 200 ]; check "12 requests with one pod down: all 200" $? "$(sort codes.txt | uniq -c)"
tail -n 12 rec/decisions.jsonl | python3 -c '
import json, sys
for l in sys.stdin:
    d = json.loads(l)
    assert "vllm-llama-3.1-8b-2" not in d["picked"], d["picked"]
    assert all(e["name"] != "vllm-llama-3.1-8b-2" for e in d["endpoints"])'
check "the dead pod (vllm-llama-3.1-8b-2) is no candidate once its scrape is refused" $? ""

# a client that hangs up mid-stream (through the gateway, and straight to a pod): the pod stops working for it
for port in "${U##*:}" "$P1"; do python3 - "$port" <<'PY'; done
import json, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
body = json.dumps({"prompt": "long one", "max_tokens": 5000, "stream": True}).encode()
s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
got = b""
while got.count(b"data: ") < 3: got += s.recv(4096)
s.close()
PY
wait_for running_zero $P0 $P1
check "clients gone mid-stream (via the gateway, and at a pod): the pods abort (running 0)" $? "running $(pod_running $P0 $P1)"

# closed by --idle-timeout 0.5 (the default, 30 s, would outlast the socket's 20 s); a
# gateway of its own: a client stalled 0.5 s on a loaded machine must not fail the others
"$EPPSIM" gateway --pods 127.0.0.1:$P0 --port 0 --time-scale 10 --idle-timeout 0.5 >gi.out 2>gi.err &
GI=$!
pids+=($GI)
wait_line gi.out '^gateway port ' 1
python3 - "$(awk '{print $3}' gi.out)" <<'PY'; check "an idle client connection is closed after --idle-timeout 0.5" $? ""
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
s.sendall(b"GET /hea")
assert s.recv(100) == b""
PY
kill -TERM $GI; wait $GI

kill -TERM "$GW"; wait "$GW"; rc=$?
[ $rc -eq 0 ] && grep -q 'stopped' gw.err; check "SIGTERM stops cleanly (exit $rc)" $? "$(cat gw.err)"
# scrapes reuse one kept-alive connection per pod (the dead pod's refused
# connects open none); a reconnect follows only a failed or stale scrape
python3 - gw.err <<'PY'; check "scrapes on kept-alive connections: far fewer connections than scrapes" $? "$(tail -n 1 gw.err)"
import re, sys
m = re.search(r"(\d+) scrapes, (\d+) failed, (\d+) on a local connect error, (\d+) scrape connections, (\d+) stale replaced",
              open(sys.argv[1]).read())
scrapes, failed, local, conns, stale = map(int, m.groups())
assert scrapes >= 20 and local == 0, m.group(0)
assert conns <= 2 + stale + failed and conns * 5 <= scrapes, m.group(0)
PY
[ -s rec/epp-config.yaml ] && "$EPPSIM" explain --from-run rec --request 1 >/dev/null 2>&1
check "--record: epp-config.yaml and decisions.jsonl readable by explain --from-run" $? ""

# in-process pods
"$EPPSIM" gateway --serve 2 --port 0 --time-scale 10 >gs.out 2>gs.err &
GS=$!
pids+=($GS)
wait_line gs.out '^gateway port ' 1
n=$(curl -sN http://127.0.0.1:$(awk '$1=="gateway" {print $3}' gs.out)/v1/completions -d '{"prompt":"in process","max_tokens":6,"stream":true}' | grep -c '"text":')
[ "$n" -eq 6 ] && [ "$(grep -c '^pod ' gs.out)" -eq 2 ]; check "--serve 2: in-process pods stream through the gateway" $? "got $n: $(cat gs.out gs.err)"
kill -INT "$GS"; wait "$GS"; rc=$?
[ $rc -eq 0 ]; check "SIGINT stops --serve cleanly (exit $rc)" $? "$(cat gs.err)"

# the idle timeout counts from the last byte a client took: a client that
# reads a 30000-token stream (5 MB) slower than the pod makes it (8 KiB every
# 20 ms for its first 2 MB) is still taking it when the response is complete
# and past --idle-timeout 2, and gets it whole
"$EPPSIM" gateway --serve 1 --port 0 --time-scale 1000 --idle-timeout 2 >gd.out 2>gd.err &
GD=$!
pids+=($GD)
wait_line gd.out '^gateway port ' 1
python3 - "$(awk '$1=="gateway" {print $3}' gd.out)" >gd.txt 2>&1 <<'PY'
import json, socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 16)
s.connect(("127.0.0.1", int(sys.argv[1])))
body = json.dumps({"prompt": "slow reader", "max_tokens": 30000, "stream": True}).encode()
s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
got, tail, done = 0, b"", False
s.settimeout(20)
while not done:
    slow = got < 2 << 20
    if slow: time.sleep(0.02)
    d = s.recv(8192 if slow else 1 << 20)
    if not d: break
    got += len(d)
    tail = (tail + d)[-64:]
    done = b"data: [DONE]" in tail
print(got, "bytes,", "done" if done else "cut")
PY
grep -q ' done$' gd.txt; check "--idle-timeout 2: a client reading slower than the pod gets its whole stream" $? "$(cat gd.txt)"
kill -TERM "$GD"; wait "$GD"

# a pod crash from the experiment's fault schedule (served by eppsim serve): refused
# scrapes take the pod out of the candidates; every later request succeeds on the other
printf 'cluster:\n  replicas: 2\n  faults:\n  - {at_s: 1, kind: pod_crash, pod: 1}\n' > crash.yaml
"$EPPSIM" serve crash.yaml --port 0 --time-scale 10 >cs.out 2>cs.err &
pids+=($!)
wait_line cs.out '^pod ' 2
CS=${pids[-1]}
"$EPPSIM" gateway crash.yaml --pods "$(awk '$3=="port" {printf "%s127.0.0.1:%s", (n++ ? "," : ""), $4}' cs.out)" --port 0 \
  --time-scale 10 --record crec >gc.out 2>gc.err &
GC=$!
pids+=($GC)
wait_line gc.out '^gateway port ' 1
UC=http://127.0.0.1:$(awk '{print $3}' gc.out)
# the crash (1 s of model time, 0.1 s of wall time after serve started), then a refused scrape
wait_for metric_is $UC "$(ready 1)" 0 && wait_for metric_is $UC "$(scraped 0)" 1
check "pod_crash: the gateway sees the crashed pod refuse (not ready), the other scraped" $? \
  "$(curl -s $UC/metrics | grep -E 'endpoint_|scrape') serve alive: $(kill -0 $CS 2>/dev/null && echo yes || echo no) $(cat cs.err)"
for k in 1 2 3 4 5 6; do curl -s -o /dev/null -w '%{http_code}\n' $UC/v1/completions -d "{\"prompt\":\"after $k\",\"max_tokens\":3}"; done > ccodes.txt
cmetrics=$(curl -s $UC/metrics | grep -E 'endpoint_|scrape')
kill -TERM "$GC"; wait "$GC"
[ "$(sort -u ccodes.txt)" = 200 ] && python3 -c '
import json
for l in open("crec/decisions.jsonl"):
    d = json.loads(l)
    assert [e["name"] for e in d["endpoints"]] == ["vllm-llama-3.1-8b-0"], d["endpoints"]'
check "pod_crash: the crashed pod leaves the candidates, 6 of 6 requests 200 on the other" $? \
  "$(sort ccodes.txt | uniq -c) $cmetrics $(cat gc.err) serve: $(cat cs.err)"

# KV events: prompts cached on a pod behind the gateway's back are found by the
# precise prefix scorer through the pod's KV events (the approximate index never saw them)
"$EPPSIM" serve --pods 2 --port 0 --kv-events 0 --time-scale 10 >kv.out 2>kv.err &
pids+=($!)
wait_line kv.out 'kv-events' 2
KPODS=$(awk '$3=="port" {printf "%s127.0.0.1:%s", (n++ ? "," : ""), $4}' kv.out)
KEPS=$(awk '$3=="kv-events" {printf "%s%s", (n++ ? "," : ""), $4}' kv.out)
"$EPPSIM" gateway --pods "$KPODS" --kv-events "$KEPS" --epp-config "$ROOT/examples/epp-configs/precise-prefix.yaml" \
  --port 0 --time-scale 10 --record kvrec >gk.out 2>gk.err &
GK=$!
pids+=($GK)
wait_line gk.out '^gateway port ' 1
UK=http://127.0.0.1:$(awk '{print $3}' gk.out)
KEV=eppsim_gateway_kv_events_total
# each subscription is up once a request sent straight to its pod shows as KV
# events at the gateway (ZMQ drops what a PUB sends before a SUB joined)
sub_up() {   # sub_up POD_PORT: a request of its own to the pod, its events seen within 2 s
  local before end=$((SECONDS + 2))
  before=$(gw_metric $UK $KEV)
  # a prompt of its own (new blocks: BlockStored events), some full blocks long
  curl -s -o /dev/null 127.0.0.1:$1/v1/completions -d "{\"prompt\":\"warm up $1 $RANDOM $RANDOM $(seq -s ' ' 1 200)\",\"max_tokens\":1}"
  until metric_over $UK $KEV "${before:-0}"; do [ $SECONDS -lt $end ] || return 1; sleep 0.05; done
}
for pod in 0 1; do
  wait_for sub_up "$(awk -v p=$pod '$2==p && $3=="port" {print $4}' kv.out)"
  check "--kv-events: pod $pod's events reach the gateway" $? "$(cat gk.err)"
done
bad=0
for k in 0 1 2 3; do
  pod=$((k % 2)); port=$(awk -v p=$pod '$2==p && $3=="port" {print $4}' kv.out)
  prompt=$(python3 -c "import sys; print(''.join('k%dw%04d ' % (int(sys.argv[1]), i) for i in range(300)))" $k)
  before=$(gw_metric $UK $KEV)
  curl -s -o /dev/null 127.0.0.1:$port/v1/completions -d "{\"prompt\":\"$prompt\",\"max_tokens\":1}"
  wait_for metric_over $UK $KEV "$before" || echo "  prompt $k: no KV events at the gateway within ${DEADLINE} s"
  got=$(curl -s -D - -o /dev/null $UK/v1/completions -d "{\"prompt\":\"$prompt\",\"max_tokens\":1}" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-eppsim-pod" {print $2}')
  [ "$got" = "vllm-llama-3.1-8b-$pod" ] || { echo "  prompt $k cached on pod $pod, gateway picked $got"; bad=$((bad + 1)); }
done
[ $bad -eq 0 ]; check "--kv-events: the precise prefix scorer follows the pods' KV events (4 of 4)" $? "$bad wrong"
kill -TERM "$GK"; wait "$GK"
grep -Eq 'stopped: .* [1-9][0-9]* KV events in [1-9][0-9]* batches, 0 bad' gk.err; check "KV events received and decoded, none bad" $? "$(cat gk.err)"
# the decision log holds what the KV-event index had for each candidate
# (kv_blocks), so explain replays the precise scorer's decisions
python3 - "$EPPSIM" kvrec <<'PY'; check "--record with KV events: kv_blocks logged, explain replays 4 of 4 to the same pod" $? ""
import json, subprocess, sys
eppsim, rec = sys.argv[1:3]
dec = [json.loads(l) for l in open(rec + "/decisions.jsonl")]
assert len(dec) == 4, len(dec)   # the warm-up requests went straight to the pods
for d in dec:
    held = {e["name"]: len(e["kv_blocks"]) for e in d["endpoints"]}
    assert held[d["picked"][0]] > 0 and max(held.values()) == held[d["picked"][0]], (d["picked"], held)
    out = subprocess.run([eppsim, "explain", "--from-run", rec, "--request", str(d["request_id"]), "--json"],
                         capture_output=True, text=True, check=True).stdout
    assert json.loads(out)["picked"][0] == d["picked"][0], (d["request_id"], out[:300])
PY
"$EPPSIM" gateway --pods 127.0.0.1:1 --kv-events tcp://127.0.0.1:2 --port 0 >/dev/null 2>err.txt &
wait_for grep -qs 'no plugin of the EndpointPickerConfig consumes KV events' err.txt; kill -TERM $! 2>/dev/null; wait $!
grep -q 'no plugin of the EndpointPickerConfig consumes KV events' err.txt; check "--kv-events with a config that ignores them: a warning" $? "$(cat err.txt)"
"$EPPSIM" gateway --pods 127.0.0.1:1,127.0.0.1:2 --kv-events tcp://127.0.0.1:3 >/dev/null 2>err.txt; rc=$?
[ $rc -eq 2 ] && grep -q 'one tcp://IP:PORT per pod' err.txt; check "--kv-events list shorter than the pods: exit 2" $? "$(cat err.txt)"

# scrape connections against a pod of our own (tests/cli/scrape_pod.py-like,
# inline): it counts the connections it accepts and the scrapes it answers.
# The scrape timeout is 100 s of model time, so a slow machine times nothing out.
cat > spod.py <<'PY'
import socket, sys, threading
mode, out = sys.argv[1], sys.argv[2]   # keep | close (Connection: close) | stale (drops every 3rd request unanswered)
PAGE = b"vllm:num_requests_waiting 0\nvllm:num_requests_running 0\nvllm:kv_cache_usage_perc 0.25\n"
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", 0)); ls.listen(64)
lock = threading.Lock(); n = {"conns": 0, "scrapes": 0, "dropped": 0}
def save():
    with open(out + ".tmp", "w") as f: f.write("%d %d %d\n" % (n["conns"], n["scrapes"], n["dropped"]))
    import os; os.replace(out + ".tmp", out)
def serve(c):
    buf = b""
    while True:
        while b"\r\n\r\n" not in buf:
            d = c.recv(4096)
            if not d: c.close(); return
            buf += d
        head, buf = buf.split(b"\r\n\r\n", 1)
        with lock:
            k = n["scrapes"] + n["dropped"] + 1
            if mode == "stale" and k % 3 == 0:   # a kept-alive connection closed as a request arrives
                n["dropped"] += 1; save(); c.close(); return
            n["scrapes"] += 1; save()
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n%s\r\n" %
                  (len(PAGE), b"Connection: close\r\n" if mode == "close" else b"") + PAGE)
        if mode == "close": c.close(); return
print(ls.getsockname()[1], flush=True)
while True:
    c, _ = ls.accept()
    with lock: n["conns"] += 1; save()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
printf 'epp:\n  scrape_timeout_ms: 100000\n' > slow.yaml
for mode in keep close stale; do
  python3 spod.py $mode spod-$mode.txt > spod-$mode.out & pids+=($!); SP=$!
  wait_line spod-$mode.out '^[0-9]' 1
  "$EPPSIM" gateway slow.yaml --pods 127.0.0.1:$(cat spod-$mode.out) --port 0 --time-scale 10 >gp-$mode.out 2>gp-$mode.err &
  GP=$!
  pids+=($GP)
  wait_line gp-$mode.out '^gateway port ' 1
  UP=http://127.0.0.1:$(awk '{print $3}' gp-$mode.out)
  scraped30() { [ "$(cut -d' ' -f2 spod-$mode.txt 2>/dev/null || echo 0)" -ge 30 ]; }
  wait_for scraped30; check "scrapes ($mode): the pod answered 30" $? "$(cat spod-$mode.txt gp-$mode.err 2>/dev/null)"
  ready=$(gw_metric $UP "$(ready 0)")
  kill -TERM $GP; wait $GP; kill $SP; wait $SP 2>/dev/null
  read -r conns scrapes dropped < spod-$mode.txt   # the pod's counts, final
  read -r gscrapes sfail gconns stale < <(sed -nE 's/.* ([0-9]+) scrapes, ([0-9]+) failed, [0-9]+ on a local connect error, ([0-9]+) scrape connections, ([0-9]+) stale replaced.*/\1 \2 \3 \4/p' gp-$mode.err)
  case $mode in
  keep) [ "$conns" -eq 1 ] && [ "$gconns" -eq 1 ] && [ "$sfail" = 0 ]
        check "scrapes reuse one kept-alive connection ($gscrapes scrapes, $conns connection, $sfail failed)" $? "$(tail -n 1 gp-$mode.err)" ;;
  close) [ "$conns" -ge "$scrapes" ] && [ "$sfail" = 0 ] && [ "$ready" = 1 ]
        check "a pod that answers Connection: close: a new connection per scrape, none failed" $? "$conns $scrapes $(tail -n 1 gp-$mode.err)" ;;
  stale) [ "$dropped" -ge 10 ] && [ "$sfail" = 0 ] && [ "$stale" -ge $((dropped - 1)) ] && [ "$conns" -le $((dropped + 1)) ] &&
         [ "$gconns" -le $((dropped + 1)) ] && [ "$ready" = 1 ]
        check "a kept-alive scrape connection closed under a request: replaced once, the scrape succeeds" $? \
          "pod: $conns connections, $scrapes scrapes, $dropped dropped, ready '$ready'; $(tail -n 1 gp-$mode.err)" ;;
  esac
done

# a local connect error (a TCP connect to a multicast address fails at once,
# ENETUNREACH, as EADDRNOTAVAIL does when no ephemeral port is left): the
# scrape fails, the pod stays a candidate, and the error is told once
"$EPPSIM" gateway --pods 127.0.0.1:$P0,224.0.0.1:9 --port 0 --time-scale 10 --record lrec >gl.out 2>gl.err &
GL=$!
pids+=($GL)
wait_line gl.out '^gateway port ' 1
UL=http://127.0.0.1:$(awk '{print $3}' gl.out)
wait_for metric_over $UL eppsim_gateway_scrape_local_errors_total 3
check "a local connect error counts as a failed scrape" $? "$(curl -s $UL/metrics | grep scrape)"
curl -s -o /dev/null $UL/v1/completions -d '{"prompt":"local","max_tokens":2}'
lready=$(gw_metric $UL "$(ready 1)")
kill -TERM $GL; wait $GL
[ "$lready" = 1 ] && [ "$(grep -c 'cannot connect' gl.err)" -eq 1 ] && grep -q '224.0.0.1:9.*the pod keeps its state' gl.err &&
  python3 -c '
import json
d = json.loads(open("lrec/decisions.jsonl").readline())
assert [e["name"] for e in d["endpoints"]] == ["vllm-llama-3.1-8b-0", "vllm-llama-3.1-8b-1"], d["endpoints"]'
check "a local connect error: the pod stays a candidate, told once on stderr" $? "ready $lready: $(cat gl.err)"

# bad input
"$EPPSIM" gateway >/dev/null 2>err.txt; rc=$?
[ $rc -eq 2 ] && grep -q -- '--pods' err.txt; check "no pods: exit 2" $? "$(cat err.txt)"
"$EPPSIM" gateway --pods 127.0.0.1 >/dev/null 2>err.txt; rc=$?
[ $rc -eq 2 ] && grep -q -- '--pods: 127.0.0.1: not IP:PORT' err.txt; check "--pods without a port: exit 2" $? "$(cat err.txt)"
printf 'apiVersion: inference.networking.x-k8s.io/v1alpha1\nkind: EndpointPickerConfig\nplugins:\n- type: no-such-plugin\n' > bad.yaml
# flow control (gate flowControl): a concurrency detector of one request per
# pod holds the other requests in the gateway's queue; 4 sent at once are
# dispatched one by one, each when the one before has ended (in flight 0 at
# every decision), and all complete
cat > flow.yaml <<'Y'
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
featureGates: [flowControl]
plugins:
- type: queue-scorer
- type: concurrency-detector
  parameters: {maxConcurrency: 1}
schedulingProfiles:
- name: default
  plugins: [{pluginRef: queue-scorer}]
flowControl: {saturationDetector: {pluginRef: concurrency-detector}}
Y
"$EPPSIM" gateway --serve 1 --epp-config flow.yaml --port 0 --time-scale 10 --record frec >gf.out 2>gf.err &
GF=$!
pids+=($GF)
wait_line gf.out '^gateway port ' 1
UF=http://127.0.0.1:$(awk '$1=="gateway" {print $3}' gf.out)
for k in 0 1 2 3; do
  curl -s -o /dev/null -w '%{http_code}\n' $UF/v1/completions -d "{\"prompt\":\"flow $k\",\"max_tokens\":20,\"stream\":true}" >>fcodes.txt &
done
wait_n=0; while [ "$(wc -l <fcodes.txt 2>/dev/null || echo 0)" -lt 4 ] && [ $wait_n -lt 600 ]; do sleep 0.1; wait_n=$((wait_n + 1)); done
kill -TERM "$GF"; wait "$GF"
[ "$(grep -c '^200$' fcodes.txt)" -eq 4 ] && grep -q ' 4 queued in flow control' gf.err
check "flowControl: 4 requests queued in the gateway, all 200" $? "$(sort fcodes.txt | uniq -c) $(tail -n 1 gf.err)"
python3 -c '
import json
d = [json.loads(l) for l in open("frec/decisions.jsonl")]
assert len(d) == 4 and all(x["outcome"] == 200 for x in d), d
assert all(e["inflight"]["requests"] == 0 for x in d for e in x["endpoints"]), [x["endpoints"][0]["inflight"] for x in d]'
check "flowControl: each dispatched when the one before had ended (in flight 0 at every decision)" $? ""

# flow control with a KV-event index that indexes speculatively (PreRequest
# adds the pick's keys): a dispatched decision logs the index as its pick read
# it, before its own entries (prompts of their own: every kv_blocks is empty),
# and explain --from-run replays each to the same pod
cat > flowkv.yaml <<'Y'
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
featureGates: [flowControl]
plugins:
- type: precise-prefix-cache-producer
  parameters: {tokenProcessorConfig: {blockSizeTokens: 16}, speculativeIndexing: true}
- type: prefix-cache-scorer
  parameters: {prefixMatchInfoProducerName: precise-prefix-cache-producer}
- type: queue-scorer
- type: concurrency-detector
  parameters: {maxConcurrency: 1}
schedulingProfiles:
- name: default
  plugins: [{pluginRef: prefix-cache-scorer, weight: 2}, {pluginRef: queue-scorer}]
flowControl: {saturationDetector: {pluginRef: concurrency-detector}}
Y
"$EPPSIM" gateway --serve 2 --kv-events 0 --epp-config flowkv.yaml --port 0 --time-scale 10 --record fkrec >gfk.out 2>gfk.err &
GFK=$!
pids+=($GFK)
wait_line gfk.out '^gateway port ' 1
UFK=http://127.0.0.1:$(awk '$1=="gateway" {print $3}' gfk.out)
cps=()
for k in 0 1 2 3; do
  prompt=$(python3 -c "import sys; print(''.join('q%dw%04d ' % (int(sys.argv[1]), i) for i in range(200)))" $k)
  curl -s -o /dev/null -w '%{http_code}\n' $UFK/v1/completions -d "{\"prompt\":\"$prompt\",\"max_tokens\":20,\"stream\":true}" >>fkcodes.txt &
  cps+=($!)
done
wait "${cps[@]}"
kill -TERM $GFK; wait $GFK
python3 - "$EPPSIM" fkrec <<'PY'; check "flowControl + speculative KV index: kv_blocks as the pick read them (none of its own), explain replays 4 of 4" $? "$(sort fkcodes.txt | uniq -c) $(tail -n 1 gfk.err)"
import json, subprocess, sys
eppsim, rec = sys.argv[1:3]
dec = [json.loads(l) for l in open(rec + "/decisions.jsonl")]
assert len(dec) == 4 and all(d["outcome"] == 200 for d in dec), dec
for d in dec:
    held = {e["name"]: len(e["kv_blocks"]) for e in d["endpoints"]}
    assert not any(held.values()), (d["request_id"], d["picked"], held)
    out = subprocess.run([eppsim, "explain", "--from-run", rec, "--request", str(d["request_id"]), "--json"],
                         capture_output=True, text=True, check=True).stdout
    assert json.loads(out)["picked"][0] == d["picked"][0], (d["request_id"], out[:300])
PY
[ "$(grep -c '^200$' fkcodes.txt)" -eq 4 ] && grep -q ' 4 queued in flow control' gfk.err
check "flowControl + speculative KV index: 4 queued, all 200" $? "$(sort fkcodes.txt | uniq -c) $(tail -n 1 gfk.err)"

# pass-through is byte for byte: a stand-in pod streams a chunked SSE body in
# many separate writes (chunks split anywhere, some writes holding several);
# the client must read exactly those body bytes, every event in order
cat > streampod.py <<'PY'
import http.server, random, sys
rng = random.Random(7)
events = [b'data: {"choices":[{"index":0,"text":"t%03d"}]}\n\n' % i for i in range(300)] + [b"data: [DONE]\n\n"]
body = b"".join(b"%x\r\n%s\r\n" % (len(e), e) for e in events) + b"0\r\n\r\n"
open("streampod.body", "wb").write(body)
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        page = b'vllm:num_requests_waiting{model_name="m"} 0\nvllm:num_requests_running{model_name="m"} 0\n' \
               b'vllm:kv_cache_usage_perc{model_name="m"} 0.1\n'
        self.send_response(200); self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(page))); self.end_headers(); self.wfile.write(page)
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200); self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked"); self.end_headers(); self.wfile.flush()
        i = 0
        while i < len(body):
            n = rng.randint(1, 200)
            self.wfile.write(body[i:i + n]); self.wfile.flush()
            i += n
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print("port", s.server_address[1], flush=True)
s.serve_forever()
PY
python3 streampod.py > streampod.out 2>streampod.err &
SPP=$!
pids+=($SPP)
wait_line streampod.out '^port ' 1
"$EPPSIM" gateway --pods 127.0.0.1:$(awk '$1=="port" {print $2}' streampod.out) --port 0 >gsp.out 2>gsp.err &
GSP=$!
pids+=($GSP)
wait_line gsp.out '^gateway port ' 1
USP=http://127.0.0.1:$(awk '{print $3}' gsp.out)
wait_for metric_is $USP "eppsim_gateway_endpoint_ready{endpoint=\"$POOL-0\"}" 1
curl -s --raw -N --max-time 60 -D sp.head $USP/v1/completions -d '{"prompt":"x","max_tokens":300,"stream":true}' > sp.raw
python3 - sp.raw streampod.body sp.head <<'PY'; check "a streamed body passes the gateway byte for byte (300 events, in order)" $? "$(head -c 300 sp.raw)"
import sys
got, want, head = (open(a, "rb").read() for a in sys.argv[1:4])
assert head.startswith(b"HTTP/1.1 200"), head[:200]
assert got == want, (len(got), len(want))
PY
kill -TERM $GSP; wait $GSP; kill $SPP; wait $SPP 2>/dev/null

"$EPPSIM" gateway --pods 127.0.0.1:1 --epp-config bad.yaml >/dev/null 2>err.txt; rc=$?
[ $rc -eq 2 ] && grep -q 'bad.yaml:4' err.txt; check "bad --epp-config: exit 2 naming file:line" $? "$(cat err.txt)"
"$EPPSIM" gateway --pods 127.0.0.1:1 --listen not-an-ip >/dev/null 2>err.txt; rc=$?
[ $rc -eq 2 ] && grep -q -- '--listen' err.txt; check "--listen bad address: exit 2" $? "$(cat err.txt)"
[ $fails -eq 0 ] || { echo "$fails failed"; exit 1; }
