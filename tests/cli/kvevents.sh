#!/usr/bin/env bash
# `eppsim serve --kv-events`: a python3-zmq subscriber decodes every batch
# with python3-msgpack and checks vLLM's layout (live/es_live_kvev.h):
# topic, sequence numbers, BlockStored chains, BlockRemoved on eviction.
# tests/cli/kvevents.sh EPPSIM
set -uo pipefail
EPPSIM=$(realpath "$1")
. "$(dirname "$0")/lib.sh"
W=$(mktemp -d /tmp/eppsim-cli-kvevents-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$W"; }
trap cleanup EXIT
cd "$W"
PY=
for p in python3 /usr/bin/python3; do
  if "$p" -c 'import zmq, msgpack' 2>/dev/null; then PY=$p; break; fi
done
[ -n "$PY" ] || { echo "FAIL: python3-zmq and python3-msgpack missing (scripts/install-deps installs them)"; exit 1; }
command -v curl >/dev/null || { echo "FAIL: curl missing (scripts/install-deps installs it)"; exit 1; }
fails=0

# 40 blocks of 16 tokens: a 600-token prompt takes 38, so the second prompt evicts
printf 'server:\n  num_gpu_blocks: 41\n' > small.yaml
"$EPPSIM" serve small.yaml --pods 1 --port 0 --kv-events 0 --time-scale 10 >s.out 2>s.err &
pids+=($!)
wait_lines s.out 'kv-events' 1
P=$(awk '$1=="pod" && $3=="port" {print $4}' s.out); EP=$(awk '$1=="pod" && $3=="kv-events" {print $4}' s.out)
[ -n "$P" ] && [[ "$EP" == tcp://127.0.0.1:* ]]; check "serve prints its KV event endpoint ($EP)" $? "$(cat s.out s.err)"

cat > sub.py <<'PY'
import json, os, sys, time, zmq, msgpack
from zmq.utils.monitor import recv_monitor_message
ctx = zmq.Context()
s = ctx.socket(zmq.SUB)
s.setsockopt(zmq.SUBSCRIBE, b"kv@")    # sent to the publisher right after the handshake
mon = s.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
mon.RCVTIMEO = 30000
s.connect(sys.argv[1])
recv_monitor_message(mon)              # connected (a zmq.Again here: no handshake in 30 s)
open(sys.argv[2], "w").write("ready\n")
# every batch, until the requests are done (done.txt) and 5 s pass without one
s.RCVTIMEO = 200
out, quiet, end = [], None, time.monotonic() + 120
while time.monotonic() < end and (quiet is None or time.monotonic() < quiet):
    if quiet is None and os.path.exists(sys.argv[4]): quiet = time.monotonic() + 5
    try:
        topic, seq, payload = s.recv_multipart()
    except zmq.Again:
        continue
    out.append({"topic": topic.decode(), "seq": int.from_bytes(seq, "big"),
                "batch": msgpack.unpackb(payload, raw=False)})
    if quiet is not None: quiet = time.monotonic() + 5
json.dump(out, open(sys.argv[3], "w"))
PY
"$PY" sub.py "$EP" ready.txt events.json done.txt &
SUB=$!
wait_for 60 test -s ready.txt; check "the subscriber connects to the KV event endpoint" $? ""
# the subscription, sent after the handshake, reaches the publisher's I/O
# thread at once (ZMQ's slow joiner; a PUB socket cannot confirm it): a
# second's grace, which a loaded machine's scheduler does not eat
sleep 1
a=$("$PY" -c 'print("".join("alpha%04d " % i for i in range(240))[:2400])')
b=$("$PY" -c 'print("".join("bravo%04d " % i for i in range(240))[:2400])')
curl -s "http://127.0.0.1:$P/v1/completions" -d "{\"prompt\":\"$a\",\"max_tokens\":12}" > r1.json
curl -s "http://127.0.0.1:$P/v1/completions" -d "{\"prompt\":\"$a\",\"max_tokens\":12}" > r2.json
curl -s "http://127.0.0.1:$P/v1/completions" -d "{\"prompt\":\"$b\",\"max_tokens\":12}" > r3.json
touch done.txt   # every batch was sent before its request's last token
wait $SUB
"$PY" - events.json r2.json "$P" <<'PY'; check "events decode with python3-msgpack in vLLM's layout" $? ""
import json, sys
ev = json.load(open(sys.argv[1]))
r2 = json.load(open(sys.argv[2]))
port = sys.argv[3]
assert ev, "no batch received"
assert [e["seq"] for e in ev] == list(range(ev[0]["seq"], ev[0]["seq"] + len(ev))), "sequence numbers not consecutive"
assert ev[0]["seq"] == 0, "first sequence number %d" % ev[0]["seq"]
stored, removed = [], []
for e in ev:
    assert e["topic"] == "kv@127.0.0.1:%s@meta-llama/Llama-3.1-8B-Instruct" % port, e["topic"]   # the served name: workload.model
    b = e["batch"]
    assert isinstance(b, list) and len(b) == 3 and isinstance(b[0], float) and b[2] == 0, b
    for x in b[1]:
        tag = x[0]
        if tag == "BlockStored":
            assert len(x) == 7, x
            hashes, parent, tokens, bs, lora, medium = x[1:]
            assert bs == 16 and lora is None and medium == "GPU", x
            assert len(tokens) == 16 * len(hashes) and all(isinstance(h, int) and 0 <= h < 2**64 for h in hashes)
            stored.append((hashes, parent))
        elif tag == "BlockRemoved":
            assert len(x) == 3 and len(x[1]) == 1 and x[2] == "GPU", x
            removed += x[1]
        else:
            raise AssertionError("unexpected event %r" % (x,))
# the first prompt: one chain of 37 full blocks (600 tokens), the first block of its sequence
first = stored[0]
assert len(first[0]) == 37 and first[1] is None, (len(first[0]), first[1])
# decode blocks chain onto the prompt's last block
assert any(p == first[0][-1] for h, p in stored[1:]), "no block chained onto the prompt"
# the repeated prompt hit its 37 full blocks (592 tokens) and stored none of them again
assert r2["usage"]["prompt_tokens_details"]["cached_tokens"] == 592, r2["usage"]
allst = [h for hs, p in stored for h in hs]
assert len(set(allst) & set(first[0])) == 37 and sum(h in first[0] for h in allst) == 37, "prompt blocks stored twice"
# the third prompt needs the cache: blocks of the first are evicted, each once
assert set(removed) & set(first[0]), "no eviction reported"
assert len(removed) == len(set(removed)), "a block removed twice"
print("batches %d, stored %d, removed %d" % (len(ev), len(allst), len(removed)))
PY

[ "$fails" -eq 0 ] || exit 1
echo "all kvevents checks passed"
