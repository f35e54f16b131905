#!/usr/bin/env bash
# Hostile peers against `eppsim serve` and `eppsim gateway`: malformed and
# oversized requests, a slowloris client, a connection flood past
# --max-conns, a pod that answers twice, a 1xx or a malformed chunk, a client
# that never reads a stream.  Each must end in an HTTP error or a closed
# connection, and the process must go on serving others.
#   tests/cli/live_hostile.sh EPPSIM
set -uo pipefail
EPPSIM=$(realpath "$1")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
W=$(mktemp -d /tmp/eppsim-cli-hostile-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$W"; }
trap cleanup EXIT
cd "$W"
fails=0
check() {   # check NAME CONDITION-EXIT-CODE DETAIL
  if [ "$2" -eq 0 ]; then echo "ok   $1"; else echo "FAIL $1: $3"; fails=$((fails + 1)); fi
}
wait_line() {   # wait_line FILE PATTERN COUNT [SECONDS]: generous, a loaded machine is slow
  local end=$((SECONDS + ${4:-60}))
  while [ $SECONDS -lt $end ]; do [ "$(cat "$1" 2>/dev/null | grep -c "$2")" -ge "$3" ] && return 0; sleep 0.05; done
  return 1
}
alive() {   # a zombie (PID 1 does not reap) is dead
  local s; s=$(awk '/^State:/ {print $2}' /proc/$1/status 2>/dev/null); [ -n "$s" ] && [ "$s" != Z ]
}

# ---- a hostile pod: the completion's prompt "mode:NAME" picks the misbehaviour
cat > pod.py <<'PY'
import re, socket, sys, threading
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", 0)); ls.listen(64)
print("port", ls.getsockname()[1], flush=True)
SSE = b'data: {"choices":[{"index":0,"text":" the"}]}\n\n'
def chunk(b): return b"%x\r\n" % len(b) + b + b"\r\n"
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
def serve(c):
    try:
        data = b""
        while True:
            while b"\r\n\r\n" not in data:
                b = c.recv(65536)
                if not b: return
                data += b
            if not data.startswith(b"GET /metrics"): break
            # a bad page on a kept-alive connection (the gateway scrapes on one; a page per connection
            # would leave a TIME_WAIT socket per scrape, ~200 a second)
            data = data.partition(b"\r\n\r\n")[2]
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n\xff\x00\x9c\n")
        h, _, body = data.partition(b"\r\n\r\n")
        n = int(re.search(rb"(?i)content-length: *(\d+)", h).group(1))
        while len(body) < n: body += c.recv(65536)
        mode = re.search(rb"mode:(\w+)", body).group(1)
        if mode == b"twice":       # a second response after the first: must not reach the client
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nEVIL")
        elif mode == b"continue":  # a 1xx nobody asked for
            c.sendall(b"HTTP/1.1 100 Continue\r\n\r\n" + HEAD + chunk(SSE) + b"0\r\n\r\n")
        elif mode == b"badchunk":  # a malformed chunk size: the client must not get it
            c.sendall(HEAD + chunk(SSE) + b"zz\r\nEVIL\r\n")
        elif mode == b"keep":      # kept alive, then closed unanswered when the next request comes (stale)
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
            c.recv(65536)
        elif mode == b"endless":   # an endless stream to a client that never reads
            c.sendall(HEAD)
            try:
                while True: c.sendall(chunk(SSE * 100))
            except OSError:
                print("endless: gateway closed", flush=True)
    except OSError:
        pass
    finally:
        c.close()
while True:
    c, _ = ls.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
python3 pod.py >pod.out 2>pod.err &
pids+=($!)
wait_line pod.out '^port ' 1
FAKE=$(awk '{print $2}' pod.out)

"$EPPSIM" serve --pods 1 --port 0 --time-scale 10 --idle-timeout 1 --max-conns 20 >serve.out 2>serve.err &
SV=$!
pids+=($SV)
"$EPPSIM" gateway --pods 127.0.0.1:$FAKE --port 0 --time-scale 10 --idle-timeout 1 --upstream-timeout 1 >gw.out 2>gw.err &
GW=$!
pids+=($GW)
wait_line serve.out '^pod 0 port ' 1; check "serve listens" $? "$(cat serve.err)"
wait_line gw.out '^gateway port ' 1; check "gateway listens" $? "$(cat gw.err)"
SP=$(awk '$2==0 {print $4}' serve.out)
GP=$(awk '{print $3}' gw.out)

cat > lib.py <<'PY'
import socket, time
def exchange(port, data, limit=1 << 22, deadline=30):
    """Sends data, reads until the server closes (or limit bytes / deadline)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=deadline)
    try: s.sendall(data)
    except OSError: pass
    out, end = b"", time.monotonic() + deadline
    try:
        while len(out) < limit and time.monotonic() < end:
            b = s.recv(65536)
            if not b: break
            out += b
    except OSError: pass
    s.close()
    return out
def post(path, body, close=True):
    body = body if isinstance(body, bytes) else body.encode()
    return (b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n" + (b"Connection: close\r\n" if close else b"")
            + b"Content-Length: %d\r\n\r\n" % len(body) + body)
PY

# ---- serve: malformed and oversized requests get their HTTP error
python3 - "$SP" <<'PY'; check "serve: malformed/oversized/non-UTF-8 requests answered 400/404/405/413/431" $? ""
import sys; sys.path.insert(0, "."); from lib import *
P = int(sys.argv[1])
cases = [
    (b"GET /health HTTP/1.1\r\nX-A: " + b"a" * 40000 + b"\r\n\r\n", 431),
    (b"GET /health HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(3000)) + b"\r\n", 431),
    (b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\n\r\n", 400),
    (b"POST /v1/completions HTTP/1.1\r\nContent-Length: 5000000\r\n\r\n", 413),
    (b"POST /v1/completions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + b"100000\r\n" + b"x" * 0x100000 + b"\r\n1\r\nx\r\n", 413),
    (b"POST /v1/completions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n", 400),
    (b"POST /v1/completions HTTP/1.1\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde", 400),
    (b"POST /v1/completions HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    (post("/v1/completions", "{bad"), 400),
    (post("/v1/completions", '{"prompt":"x","max_tokens":1e300}'), 400),
    (post("/v1/completions", '{"prompt":"x","max_tokens":-5}'), 400),
    (post("/v1/completions", '{"prompt":"x","max_tokens":2.5}'), 400),
    (post("/v1/completions", '{"prompt":5,"max_tokens":"7"}'), 400),
    (post("/v1/chat/completions", '{"messages":[1,[2],{"role":3}]}'), 400),
    (post("/v1/completions", '{"prompt":"x","stream":"yes"}'), 400),
    (post("/v1/completions", "[" * 100000 + "]" * 100000), 400),
    (post("/v1/completions", '{"prompt":"x","a":' + '{"a":' * 20000 + "1" + "}" * 20000 + "}"), 400),
    (post("/v1/completions", '{"prompt":"x","model":"' + "m" * 100000 + '"}'), 404),
    (b"DELETE /v1/completions HTTP/1.1\r\nConnection: close\r\n\r\n", 405),
    (bytes(range(256)) * 8, 400),
    (post("/v1/completions", b'{"prompt":"\xff\xfe\xc0\x80 not UTF-8","max_tokens":2}'), 400),
    (post("/v1/completions", '{"prompt":"a\\u0000b","max_tokens":2}'), 200),
]
bad = 0
for req, want in cases:
    got = exchange(P, req).split(b"\r\n", 1)[0]
    if not got.startswith(b"HTTP/1.1 %d " % want):
        print("  %r... -> %r, want %d" % (req[:50], got, want)); bad += 1
sys.exit(bad)
PY

# ---- serve: a client sending one byte at a time is cut off by --idle-timeout (1 s)
python3 - "$SP" <<'PY'; check "serve: a slowloris client is cut off (the request has --idle-timeout to arrive)" $? ""
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
t0 = time.monotonic()
s.settimeout(0.2)
while time.monotonic() - t0 < 30:   # 1 s is the bound; 30 s is generous for a loaded machine
    try:
        s.send(b"a" if time.monotonic() - t0 > 0.01 else b"GET /health HTTP/1.1\r\nX-Pad: ")
        if s.recv(100) == b"": sys.exit(0)   # closed
    except socket.timeout: pass
    except OSError: sys.exit(0)   # reset
print("  still open after %.0f s" % (time.monotonic() - t0)); sys.exit(1)
PY

# ---- serve: a flood past --max-conns 20: the excess is closed, then others are served
python3 - "$SP" <<'PY'; check "serve: a connection flood past --max-conns: excess closed, /health still 200 after" $? ""
import socket, sys, time; sys.path.insert(0, "."); from lib import *
P = int(sys.argv[1])
socks = [socket.create_connection(("127.0.0.1", P), timeout=30) for _ in range(60)]
closed, end = 0, time.monotonic() + 30
while time.monotonic() < end and closed < 40:
    closed = 0
    for s in socks:
        s.setblocking(False)
        try:
            if s.recv(1) == b"": closed += 1
        except BlockingIOError: pass
        except OSError: closed += 1
    time.sleep(0.05)
for s in socks: s.close()
ok = closed >= 40
for _ in range(200):   # the flood's slots are released as the server sees them close
    if exchange(P, b"GET /health HTTP/1.1\r\nConnection: close\r\n\r\n").startswith(b"HTTP/1.1 200"): break
    time.sleep(0.05)
else: ok = False
print("  closed %d of 60" % closed) if not ok else None
sys.exit(0 if ok else 1)
PY

# ---- gateway: a pod that misbehaves
python3 - "$GP" <<'PY'; check "gateway: a pod's second response after the first is not forwarded" $? ""
import sys; sys.path.insert(0, "."); from lib import *
r = exchange(int(sys.argv[1]), post("/v1/completions", '{"prompt":"mode:twice","max_tokens":2}'))
print("  got %r" % r) if r.count(b"HTTP/1.1") != 1 or b"EVIL" in r else None
sys.exit(r.count(b"HTTP/1.1") != 1 or b"EVIL" in r or not r.endswith(b"{}"))
PY
python3 - "$GP" <<'PY'; check "gateway: a pod's unasked-for 1xx is a 502" $? ""
import sys; sys.path.insert(0, "."); from lib import *
r = exchange(int(sys.argv[1]), post("/v1/completions", '{"prompt":"mode:continue","max_tokens":2}'))
print("  got %r" % r[:300]) if not r.startswith(b"HTTP/1.1 502") or r.count(b"HTTP/1.1") != 1 else None
sys.exit(not r.startswith(b"HTTP/1.1 502") or r.count(b"HTTP/1.1") != 1)
PY
python3 - "$GP" <<'PY'; check "gateway: a malformed chunk from the pod is not forwarded (the stream is cut)" $? ""
import sys; sys.path.insert(0, "."); from lib import *
r = exchange(int(sys.argv[1]), post("/v1/completions", '{"prompt":"mode:badchunk","max_tokens":2}'))
print("  got %r" % r[-200:]) if not r.startswith(b"HTTP/1.1 200") or b"EVIL" in r or b"zz" in r else None
sys.exit(not r.startswith(b"HTTP/1.1 200") or b"EVIL" in r or b"zz" in r)
PY
python3 - "$GP" <<'PY'; check "gateway: a kept-alive pod connection closed unanswered is retried on a new one" $? ""
import sys; sys.path.insert(0, "."); from lib import *
a = exchange(int(sys.argv[1]), post("/v1/completions", '{"prompt":"mode:keep","max_tokens":2}'))
b = exchange(int(sys.argv[1]), post("/v1/completions", '{"prompt":"mode:keep","max_tokens":2}'))
ok = a.startswith(b"HTTP/1.1 200") and a.endswith(b"{}") and b.startswith(b"HTTP/1.1 200") and b.endswith(b"{}")
print("  got %r / %r" % (a[:80], b[:80])) if not ok else None
sys.exit(0 if ok else 1)
PY

# ---- gateway --record: a client's bytes that are not UTF-8 are refused, the record stays JSON
"$EPPSIM" gateway --serve 1 --port 0 --time-scale 10 --record rec >gr.out 2>gr.err &
GR=$!
pids+=($GR)
wait_line gr.out '^gateway port ' 1
python3 - "$(awk '$1=="gateway" {print $3}' gr.out)" <<'PY'; check "gateway: a header or body not UTF-8 is a 400" $? ""
import sys; sys.path.insert(0, "."); from lib import *
P = int(sys.argv[1])
a = exchange(P, post("/v1/completions", '{"prompt":"x","max_tokens":2}').replace(b"Host: x", b"Host: x\r\nX-Session-Token: \xff\xfe"))
b = exchange(P, post("/v1/completions", b'{"prompt":"x","model":"m\xff","max_tokens":2}'))
c = exchange(P, post("/v1/completions", '{"prompt":"caf\\u00e9 ok","max_tokens":2}').replace(b"Host: x", b"Host: x\r\nX-Session-Token: caf\xc3\xa9"))
ok = a.startswith(b"HTTP/1.1 400") and b"not UTF-8" in a and b.startswith(b"HTTP/1.1 400") and c.startswith(b"HTTP/1.1 200")
print("  %r / %r / %r" % (a[:60], b[:60], c[:60])) if not ok else None
sys.exit(0 if ok else 1)
PY
kill -TERM "$GR"; wait "$GR"
python3 -c 'import json; [json.loads(l) for l in open("rec/decisions.jsonl", "rb")]' && "$EPPSIM" explain --from-run rec --request 1 >/dev/null 2>&1
check "gateway --record: decisions.jsonl stays JSON, explain replays it" $? "$(tail -c 300 rec/decisions.jsonl)"

# ---- gateway: a client that never reads an endless stream is cut off by --upstream-timeout (1 s)
python3 - "$GP" <<'PY' &
import socket, sys, time; sys.path.insert(0, "."); from lib import *
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.sendall(post("/v1/completions", '{"prompt":"mode:endless","max_tokens":2,"stream":true}'))
time.sleep(120)   # never reads; killed below
PY
NR=$!
pids+=($NR)
wait_line pod.out '^endless: gateway closed' 1 60
check "gateway: a client that never reads is cut off and its pod exchange closed" $? "gateway still pumps after 60 s"
kill $NR 2>/dev/null

# ---- gateway --kv-events: a publisher sending malformed msgpack, frames of
# every shape, and 200000 hashes 0, 1, 2, ... (not mixed: one probe run in a
# naive index).  Under a CPU limit, a quadratic index is a hang (killed).
KPY=
for p in python3 /usr/bin/python3; do "$p" -c 'import zmq, msgpack' 2>/dev/null && { KPY=$p; break; }; done
if [ -z "$KPY" ]; then
  check "python3-zmq and python3-msgpack (scripts/install-deps)" 1 "missing"
else
  cat > kvpub.py <<'PY'
import os, struct, sys, zmq, msgpack
ctx = zmq.Context(); s = ctx.socket(zmq.XPUB)
port = s.bind_to_random_port("tcp://127.0.0.1")
print("port", port, flush=True)
s.recv()   # the gateway's subscription: it is connected
t = b"kv@x@m"
def batch(events): return msgpack.packb([1.0, events, 0])
for i, p in enumerate([os.urandom(2000), b"", b"\xdd\xff\xff\xff\xff", b"\xdf\xff\xff\xff\xff" + b"\x00" * 8,
                       b"\x91" * 100000 + b"\x00", b"\xc1" * 100, msgpack.packb({"a": 1}), msgpack.packb([1.0, "x"]),
                       batch([["BlockStored", "no"], ["BlockRemoved"], [], 5, ["AllBlocksCleared"]]),
                       batch([["BlockStored", [2**64 - 1, -1, 1.5, b"b"], None, [], 16, None, "GPU"]]),
                       batch([["BlockStored", list(range(200000)), None, [], 16, None, "GPU"]])]):
    s.send_multipart([t, struct.pack(">Q", i), p])
s.send_multipart([os.urandom(5)])
s.send_multipart([t] * 50)
s.send_multipart([t, b"", b"\x00" * (20 << 20)])   # past ZMQ_MAXMSGSIZE: the connection drops
print("sent", flush=True)
s.recv()   # until the gateway unsubscribes (it stops)
PY
  "$KPY" kvpub.py >kvpub.out 2>kvpub.err &
  pids+=($!)
  wait_line kvpub.out '^port ' 1
  ( ulimit -t 60; exec "$EPPSIM" gateway --pods 127.0.0.1:$FAKE --port 0 --kv-events tcp://127.0.0.1:$(awk '/^port/ {print $2}' kvpub.out) \
      --epp-config "$ROOT/examples/epp-configs/precise-prefix.yaml" >gk.out 2>gk.err ) &
  GK=$!
  pids+=($GK)
  wait_line gk.out '^gateway port ' 1 && wait_line kvpub.out '^sent' 1
  KU=http://127.0.0.1:$(awk '{print $3}' gk.out)
  [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 60 $KU/health)" = 200 ]
  check "gateway --kv-events: /health answered while hostile batches arrive" $? "$(tail -n 3 gk.err)"
  kill -TERM "$GK"; wait "$GK"; rc=$?
  [ $rc -eq 0 ] && grep -Eq 'stopped: .* [0-9]+ KV events in [0-9]+ batches, [1-9][0-9]* bad' gk.err
  check "gateway --kv-events: malformed batches counted bad, clean stop (exit $rc)" $? "$(tail -n 3 gk.err)"
fi

# ---- both still serve, and stop cleanly
[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 http://127.0.0.1:$GP/health)" = 200 ]
check "gateway still answers /health" $? ""
n=$(curl -sN --max-time 30 http://127.0.0.1:$SP/v1/completions -d '{"prompt":"after","max_tokens":5,"stream":true}' | grep -c '"text":')
[ "$n" -eq 5 ]; check "serve still streams a completion" $? "got $n events"
kill -TERM "$GW"; wait "$GW"; rc=$?
[ $rc -eq 0 ]; check "gateway: SIGTERM stops it (exit $rc)" $? "$(tail -n 5 gw.err)"
grep -Eq 'stopped: .*[1-9][0-9]* requests on kept-alive ones, [1-9][0-9]* stale retried' gw.err
check "gateway: the pooled connection was reused, a stale one retried" $? "$(tail -n 2 gw.err)"
kill -INT "$SV"; wait "$SV"; rc=$?
[ $rc -eq 0 ]; check "serve: SIGINT stops it (exit $rc)" $? "$(tail -n 5 serve.err)"
! grep -q 'ERROR: AddressSanitizer\|runtime error' serve.err gw.err gk.err gr.err; check "no sanitizer report" $? "$(grep -h -A3 'Sanitizer\|runtime error' serve.err gw.err gk.err gr.err | head -20)"
[ $fails -eq 0 ] || { echo "$fails failed"; exit 1; }
