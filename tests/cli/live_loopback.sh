#!/usr/bin/env bash
# The loopback check of live mode (issue 20; docs/live.md): `eppsim serve`
# (3 pods) + `eppsim gateway` + a streaming client on loopback at
# --time-scale 0.25, the default experiment's request shape.  Every request
# completes with status 200 and its token count; every live decision, replayed
# by `eppsim explain --from-run` on what the gateway logged, picks the same pod;
# the pod that answered is the one picked.  Then the same requests (their
# content segments as the gateway logged them) are simulated and the
# latencies printed side by side; no timing is asserted.
#   tests/cli/live_loopback.sh EPPSIM
set -uo pipefail
EPPSIM=$(realpath "$1")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CLIENT="$ROOT/scripts/live-client"
W=$(mktemp -d /tmp/eppsim-cli-loopback-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$W"; }
trap cleanup EXIT
cd "$W"
fails=0
check() {   # check NAME CONDITION-EXIT-CODE DETAIL
  if [ "$2" -eq 0 ]; then echo "ok   $1"; else echo "FAIL $1: $3"; fails=$((fails + 1)); fi
}
wait_line() {   # wait_line FILE PATTERN COUNT
  for _ in $(seq 1 100); do [ "$(grep -c "$2" "$1")" -ge "$3" ] && return 0; sleep 0.05; done
  return 1
}
TS=0.25
N=20

"$EPPSIM" serve --pods 3 --port 0 --time-scale $TS >serve.out 2>serve.err &
pids+=($!)
wait_line serve.out '^pod ' 3; check "serve: 3 pods listening" $? "$(cat serve.out serve.err)"
PODS=$(awk '$1=="pod" {printf "%s127.0.0.1:%s", (n++ ? "," : ""), $4}' serve.out)
"$EPPSIM" gateway --pods "$PODS" --port 0 --time-scale $TS --record rec >gw.out 2>gw.err &
GW=$!
pids+=($GW)
wait_line gw.out '^gateway port ' 1; check "gateway listening" $? "$(cat gw.out gw.err)"
G=$(awk '$1=="gateway" {print $3}' gw.out)
sleep 0.3   # the first scrapes

"$CLIENT" gen --requests $N --rate 8 --seed 3 >work.jsonl
"$CLIENT" send --url "http://127.0.0.1:$G" --time-scale $TS work.jsonl -o live.jsonl
check "client ran" $? ""
kill -TERM "$GW"; wait "$GW"; rc=$?
[ $rc -eq 0 ] && grep -q "stopped: $N requests decided, $N proxied whole" gw.err; check "gateway stops cleanly, $N decided and proxied (exit $rc)" $? "$(cat gw.err)"

python3 - work.jsonl live.jsonl rec/decisions.jsonl $N <<'PY'; check "every request: 200, max_tokens token events, usage, and served by the pod the gateway logged" $? ""
import json, math, sys
work = {json.loads(l)["i"]: json.loads(l) for l in open(sys.argv[1])}
live = [json.loads(l) for l in open(sys.argv[2])]
dec = {json.loads(l)["request_id"]: json.loads(l) for l in open(sys.argv[3])}
n = int(sys.argv[4])
assert len(live) == n and len(dec) == n, (len(live), len(dec))
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

# every decision replayed with explain on the logged snapshot
bad=0
for id in $(seq 1 $N); do
  want=$(python3 -c 'import json,sys; print(next(json.loads(l)["picked"][0] for l in open("rec/decisions.jsonl") if json.loads(l)["request_id"] == int(sys.argv[1])))' "$id")
  got=$("$EPPSIM" explain --from-run rec --request "$id" --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["picked"][0])')
  [ "$want" = "$got" ] || { echo "  request $id: gateway picked $want, explain picks $got"; bad=$((bad + 1)); }
done
[ $bad -eq 0 ]; check "explain --from-run replays all $N live decisions to the same pod" $? "$bad differ"
pods_used=$(python3 -c 'import json; print(len({json.loads(l)["picked"][0] for l in open("rec/decisions.jsonl")}))')
[ "$pods_used" -ge 2 ]; check "decisions spread over $pods_used pods (the replay check is not vacuous)" $? ""

# the same requests simulated; latencies side by side (printed, not asserted)
"$CLIENT" trace work.jsonl live.jsonl rec/decisions.jsonl >trace.jsonl
"$EPPSIM" run --set workload.type=trace --set workload.trace.file="$W/trace.jsonl" --set workload.trace.format=eppsim \
  --out sim --no-plots --quiet --force >/dev/null 2>sim.err
check "the same $N requests simulated" $? "$(cat sim.err)"
echo "simulated vs live at --time-scale $TS (model ms; informational, not asserted):"
"$CLIENT" compare live.jsonl sim | sed 's/^/  /'
[ $fails -eq 0 ] || { echo "$fails failed"; exit 1; }
