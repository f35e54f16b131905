#!/usr/bin/env bash
# The loopback check of live mode (issue 20; docs/live.md): `eppsim serve`
# (3 pods) + `eppsim gateway` + clients on loopback at --time-scale 0.25.
#  1. scripts/live-client sends 12 streamed requests (the default
#     experiment's shape as text) and reads which pod answered each.
#  2. `eppsim load` sends the default experiment's first 20 requests.
# Every request completes with status 200 and its token counts (load's equal
# the simulation's, request by request); every live decision, replayed by
# `eppsim explain --from-run` on what the gateway logged, picks the same pod;
# the pod that answered is the one picked.  The same experiment is then
# simulated and its latencies printed beside load's; no timing is asserted.
#   tests/cli/live_loopback.sh EPPSIM
set -uo pipefail
EPPSIM=$(realpath "$1")
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CLIENT="$ROOT/scripts/live-client"
W=$(mktemp -d /tmp/eppsim-cli-loopback-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$W"; }
trap cleanup EXIT
cd "$W"
fails=0
TS=0.25
N=12
NL=20

"$EPPSIM" serve --pods 3 --port 0 --time-scale $TS >serve.out 2>serve.err &
pids+=($!)
wait_lines serve.out '^pod ' 3; check "serve: 3 pods listening" $? "$(cat serve.out serve.err)"
PODS=$(awk '$1=="pod" {printf "%s127.0.0.1:%s", (n++ ? "," : ""), $4}' serve.out)
"$EPPSIM" gateway --pods "$PODS" --port 0 --time-scale $TS --record rec >gw.out 2>gw.err &
GW=$!
pids+=($GW)
wait_lines gw.out '^gateway port ' 1; check "gateway listening" $? "$(cat gw.out gw.err)"
G=$(awk '$1=="gateway" {print $3}' gw.out)

"$CLIENT" gen --requests $N --rate 8 --seed 3 >work.jsonl
"$CLIENT" send --url "http://127.0.0.1:$G" --time-scale $TS work.jsonl -o live.jsonl
check "client ran" $? ""

# the gateway writes each decision before it proxies the request
wait_lines rec/decisions.jsonl '' $N; check "decisions.jsonl has the $N decisions" $? "$(wc -l < rec/decisions.jsonl)"
python3 - work.jsonl live.jsonl rec/decisions.jsonl $N <<'PY'; check "every request: 200, max_tokens token events, usage, and served by the pod the gateway logged" $? ""
import json, math, sys
work = {json.loads(l)["i"]: json.loads(l) for l in open(sys.argv[1])}
live = [json.loads(l) for l in open(sys.argv[2])]
dec = {json.loads(l)["request_id"]: json.loads(l) for l in open(sys.argv[3])}
n = int(sys.argv[4])
assert len(live) == n, len(live)
for r in live:
    w = work[r["i"]]
    assert r["status"] == 200, r
    assert r["tokens"] == w["max_tokens"], (r["i"], r["tokens"], w["max_tokens"])
    u = r["usage"]
    assert u["completion_tokens"] == w["max_tokens"], u
    assert u["prompt_tokens"] == max(1, math.ceil(len(w["prompt"]) / 4)), (u, len(w["prompt"]))
    d = dec[r["gw_id"]]
    assert d["outcome"] == 200 and d["picked"][0] == r["pod"], (d["picked"], r["pod"])
PY

# 2. eppsim load: the default experiment's first $NL requests through the gateway
"$EPPSIM" load --url "http://127.0.0.1:$G" --time-scale $TS --set workload.num_requests=$NL -o load --no-plots -q \
  >load.log 2>&1
check "eppsim load ran" $? "$(tail -5 load.log)"
"$EPPSIM" run --set workload.num_requests=$NL --out sim --no-plots --quiet --force >/dev/null 2>sim.err
check "the same $NL requests simulated" $? "$(cat sim.err)"
python3 - load/requests.csv sim/requests.csv $NL <<'PY'; check "load: every request 200 with the simulation's prompt and output tokens, request by request" $? ""
import csv, sys
live = {r["id"]: r for r in csv.DictReader(open(sys.argv[1]))}
sim = {r["id"]: r for r in csv.DictReader(open(sys.argv[2]))}
assert len(live) == int(sys.argv[3]) and live.keys() == sim.keys(), (len(live), len(sim))
for i, r in live.items():
    assert r["status"] == "200", r
    assert (r["prompt_tokens"], r["output_tokens"]) == (sim[i]["prompt_tokens"], sim[i]["output_tokens"]), (r, sim[i])
PY
kill -TERM "$GW"; wait "$GW"; rc=$?
T=$((N + NL))
[ $rc -eq 0 ] && grep -q "stopped: $T requests decided, $T proxied whole" gw.err; check "gateway stops cleanly, $T decided and proxied (exit $rc)" $? "$(cat gw.err)"
# pod connections are kept alive and reused: fewer opened than requests sent
awk -v t=$T 'match($0, /; [0-9]+ pod connections, [0-9]+ requests on kept-alive/) {
  split(substr($0, RSTART + 2, RLENGTH), f, " "); ok = f[1] > 0 && f[1] < t && f[4] > 0 } END { exit !ok }' gw.err
check "gateway reuses pod connections (fewer opened than $T requests)" $? "$(tail -n 1 gw.err)"

# every decision replayed with explain on the logged snapshot
python3 - "$EPPSIM" rec $T <<'PY'; check "explain --from-run replays all $T live decisions to the same pod" $? ""
import json, subprocess, sys
eppsim, rec, t = sys.argv[1], sys.argv[2], int(sys.argv[3])
dec = [json.loads(l) for l in open(rec + "/decisions.jsonl")]
assert len(dec) == t, "decisions.jsonl holds %d of %d decisions" % (len(dec), t)
bad = 0
for d in dec:
    out = subprocess.run([eppsim, "explain", "--from-run", rec, "--request", str(d["request_id"]), "--json"],
                         capture_output=True, text=True, check=True).stdout
    got = json.loads(out)["picked"][0]
    if got != d["picked"][0]:
        print("  request %d: gateway picked %s, explain picks %s" % (d["request_id"], d["picked"][0], got))
        bad += 1
assert bad == 0, "%d differ" % bad
PY
pods_used=$(python3 -c 'import json; print(len({json.loads(l)["picked"][0] for l in open("rec/decisions.jsonl")}))')
[ "$pods_used" -ge 2 ]; check "decisions spread over $pods_used pods (the replay check is not vacuous)" $? ""

# simulated and live side by side (informational, not asserted)
echo "simulated vs live (eppsim load through eppsim gateway), $NL requests at --time-scale $TS, model ms:"
python3 - sim/summary.json load/summary.json <<'PY'
import json, os, sys
s, l = (json.load(open(p)) for p in sys.argv[1:3])
print("  %-16s %10s %10s" % ("", "simulated", "live"))
for k in ("ttft", "itl", "e2e"):
    for q in ("p50", "p90"):
        print("  %-16s %10.3f %10.3f" % (k.upper() + " " + q, s["latency_ms"][k][q], l["latency_ms"][k][q]))
print("  %-16s %10.1f %10.1f" % ("output tok/s", s["throughput"]["output_tokens_per_s"], l["throughput"]["output_tokens_per_s"]))
print("  load average %s" % " ".join("%.2f" % x for x in os.getloadavg()))
PY
[ $fails -eq 0 ] || { echo "$fails failed"; exit 1; }
