#!/usr/bin/env bash
# `eppsim load` echoes session affinity's token as a chat client does
# (inference-perf's api.session_token_header_key): through `eppsim serve`
# (3 pods) and `eppsim gateway` with session-affinity-filter (default
# strategy, encoded_endpoint_header) and a random picker, every turn after a
# session's first carries the x-session-token the gateway returned on its
# previous turn, and the gateway picks the pod that token names, so each
# session stays on one pod.  `--session-header ""` sends no token.
#   tests/cli/load_session.sh EPPSIM
set -uo pipefail
EPPSIM=$(realpath "$1")
. "$(dirname "$0")/lib.sh"
W=$(mktemp -d /tmp/eppsim-cli-loadsess-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$W"; }
trap cleanup EXIT
cd "$W"
fails=0
# How many of the 30 requests are later turns depends on the wall clock: a
# session's next turn waits for its last response, while new sessions keep
# arriving.  At --time-scale 10 on a loaded machine (ASan, ctest -j) the 30
# went mostly to new sessions (12 later turns); at 1 a session arrives every
# 250 ms of wall time, and the check below only asks for a few later turns.
TS=1
cat > tok-cfg.yaml <<'YAML'
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: session-affinity-filter
- type: random-picker
YAML
cat > sess.yaml <<'YAML'
name: sess
seed: 2
workload:
  type: sessions
  num_requests: 30
  arrival: {process: poisson, rate: 4}
  sessions: {turns_min: 3, turns_max: 3, think_time_s: 0.2, system_prompt_len: 0}
  lengths: {input: {dist: constant, mean: 60}, output: {dist: constant, mean: 8}}
YAML
"$EPPSIM" serve --pods 3 --port 0 --time-scale $TS >serve.out 2>serve.err &
pids+=($!)
wait_lines serve.out '^pod ' 3; check "serve: 3 pods listening" $? "$(cat serve.out serve.err)"
PODS=$(awk '$1=="pod" {printf "%s127.0.0.1:%s", (n++ ? "," : ""), $4}' serve.out)
for v in echo none; do
  "$EPPSIM" gateway --pods "$PODS" --port 0 --time-scale $TS --epp-config tok-cfg.yaml --record rec-$v >gw-$v.out 2>gw-$v.err &
  GW=$!
  pids+=($GW)
  wait_lines gw-$v.out '^gateway port ' 1; check "gateway ($v) listening" $? "$(cat gw-$v.out gw-$v.err)"
  G=$(awk '$1=="gateway" {print $3}' gw-$v.out)
  opt=()
  [ $v = none ] && opt=(--session-header "")
  "$EPPSIM" load sess.yaml --url "http://127.0.0.1:$G" --time-scale $TS "${opt[@]}" -o load-$v --no-plots -q >load-$v.log 2>&1
  check "eppsim load ($v) ran" $? "$(tail -5 load-$v.log)"
  wait_lines rec-$v/decisions.jsonl '' 30; check "gateway ($v) logged 30 decisions" $? "$(wc -l < rec-$v/decisions.jsonl)"
  kill -TERM "$GW"; wait "$GW"
done
python3 - rec-echo/decisions.jsonl rec-none/decisions.jsonl load-echo/requests.csv <<'PY'; check "turns 2 and 3 of every session carry the token of the pod that served the session; none without --session-header" $? ""
import base64, csv, json, sys
def decisions(path):
    return [json.loads(l) for l in open(path)]
echo, none = decisions(sys.argv[1]), decisions(sys.argv[2])
seen, pod_of, with_tok = set(), {}, 0   # a session: its first segment (no system prompt)
for d in echo:
    sess, tok = d['request']['content'][0][0], d['request']['headers'].get('x-session-token')
    assert d['outcome'] == 200, d['outcome']
    assert (tok is None) == (sess not in seen), (d['request_id'], sess in seen, tok)
    if tok:
        with_tok += 1
        assert d['picked'][0] == base64.b64decode(tok).decode() == pod_of[sess], (d['picked'], tok, pod_of[sess])
    seen.add(sess)
    pod_of.setdefault(sess, d['picked'][0])
assert len(echo) == 30 and with_tok >= 5, (len(echo), with_tok)   # ~20 on an idle machine
assert not any('x-session-token' in d['request']['headers'] for d in none)
rows = list(csv.DictReader(open(sys.argv[3])))
assert len(rows) == 30 and all(r['status'] == '200' for r in rows), [r['status'] for r in rows]
print('  %d of %d requests echoed a token, each picked to the pod it names, %d sessions' % (with_tok, len(echo), len(seen)))
PY
[ "$fails" -eq 0 ] && echo "load_session: ok"
exit $((fails > 0))
