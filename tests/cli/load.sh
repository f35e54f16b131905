#!/usr/bin/env bash
# `eppsim load` against `eppsim serve` on loopback (time scale 10): every
# request of a small workload completes with the token count `eppsim run`
# gives it, the result files are written, a refused connection is status 0,
# and `serve --stats` reports step and token lateness.  tests/cli/load.sh EPPSIM
set -uo pipefail
EPPSIM=$(realpath "$1")
. "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
W=$(mktemp -d /tmp/eppsim-cli-load-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$W"; }
trap cleanup EXIT
cd "$W"
fails=0

cat > small.yaml <<'Y'
name: small
seed: 3
workload:
  num_requests: 40
  arrival: {process: poisson, rate: 8}
  shared_prefix: {num_groups: 2, num_prompts_per_group: 20, system_prompt_len: 400, question_len: 100, output_len: 30, output_len_std: 10}
Y
"$EPPSIM" serve small.yaml --pods 2 --port 0 --time-scale 10 --stats >s.out 2>s.err &
SERVE=$!
pids+=($SERVE)
wait_lines s.out '^pod ' 2
P0=$(awk '$1=="pod" && $2==0 {print $4}' s.out); P1=$(awk '$1=="pod" && $2==1 {print $4}' s.out)
[ -n "$P0" ] && [ -n "$P1" ]; check "serve started ($P0 $P1)" $? "$(cat s.out s.err)"

timeout 120 "$EPPSIM" load small.yaml --url "http://127.0.0.1:$P0,localhost:$P1" --time-scale 10 --no-plots -q -o live >l.out 2>l.err
check "load exits 0" $? "$(cat l.err)"
for f in summary.json requests.csv pods.csv timeseries.csv experiment.yaml run-info.json; do
  [ -s "live/$f" ]; check "load wrote $f" $? ""
done
"$EPPSIM" run small.yaml -o sim -q --no-plots >/dev/null 2>&1; check "run of the same experiment" $? ""
python3 - live/requests.csv sim/requests.csv live/summary.json "$P0" "$P1" <<'PY'; check "every request 200 with the simulated token counts, both pods used" $? ""
import csv, json, sys
live = {r["id"]: r for r in csv.DictReader(open(sys.argv[1]))}
sim = {r["id"]: r for r in csv.DictReader(open(sys.argv[2]))}
assert len(live) == 40 and set(live) == set(sim), (len(live), len(sim))
for i, r in live.items():
    assert r["status"] == "200", r
    assert r["output_tokens"] == sim[i]["output_tokens"], (i, r["output_tokens"], sim[i]["output_tokens"])
    assert r["prompt_tokens"] == sim[i]["prompt_tokens"], (i, r["prompt_tokens"], sim[i]["prompt_tokens"])
    assert float(r["ttft_ms"]) > 0 and float(r["e2e_ms"]) >= float(r["ttft_ms"]), r
pods = {r["pod"] for r in live.values()}
assert pods == {"127.0.0.1:" + sys.argv[4], "127.0.0.1:" + sys.argv[5]}, pods
s = json.load(open(sys.argv[3]))
assert s["requests"]["completed"] == 40, s["requests"]
# the shared system prompts hit the pods' prefix caches
assert s["prefix_cache"]["actual_hit_rate"] > 0.3, s["prefix_cache"]
print("live TTFT p50 %.1f ms, sim TTFT p50 %.1f ms" % (s["latency_ms"]["ttft"]["p50"],
      json.load(open(sys.argv[3].replace("live", "sim")))["latency_ms"]["ttft"]["p50"]))
PY

# the pods' gauges, scraped from /metrics, fill their timeseries rows
awk -F, -v p="127.0.0.1:$P0" '$2 == p && $3 != "" && $5 != "" {n++} END {exit !(n >= 1)}' live/timeseries.csv
check "timeseries.csv: pod rows carry scraped gauges" $? "$(head -5 live/timeseries.csv)"

kill -TERM $SERVE; wait $SERVE 2>/dev/null
grep -Eq '^step lateness: [1-9][0-9]* steps, p50 [0-9]+ us, p90 [0-9]+ us, p99 [0-9]+ us' s.out
check "serve --stats prints step lateness when stopped" $? "$(cat s.out)"
grep -Eq '^token lateness: [1-9][0-9]* flushes, p50 [0-9]+ us, p90 [0-9]+ us, p99 [0-9]+ us' s.out
check "serve --stats prints token lateness when stopped" $? "$(cat s.out)"

# an inference-perf config as the workload (two constant stages: 40 + 80 requests)
# (the pod serves the config's server.model_name, which load sends as the model)
"$EPPSIM" serve --pods 1 --port 0 --time-scale 10 --served-model-name meta-llama/Llama-2-7b-hf >ip.out 2>ip.err &
IPS=$!
pids+=($IPS)
wait_lines ip.out '^pod ' 1
PI=$(awk '$1=="pod" && $3=="port" {print $4}' ip.out)
timeout 120 "$EPPSIM" load --inference-perf "$SRC/tests/data/inference-perf/late-2025-run.yaml" --url "http://127.0.0.1:$PI" \
  --time-scale 10 --no-plots -q -o ip >/dev/null 2>ip.lerr
check "load --inference-perf exits 0" $? "$(cat ip.lerr)"
[ "$(awk -F, 'NR > 1 && $4 == 200' ip/requests.csv | wc -l)" -eq 120 ] && [ "$(awk -F, 'NR > 1' ip/requests.csv | wc -l)" -eq 120 ]
check "inference-perf stages: 120 requests, all 200" $? "$(awk -F, 'NR > 1 {print $4}' ip/requests.csv | sort | uniq -c)"
kill $IPS
# a pod serving another model answers 404 to every request: load sent server.model_name, not workload.model
"$EPPSIM" serve --pods 1 --port 0 --time-scale 10 >ip2.out 2>ip2.err &
IPS2=$!
pids+=($IPS2)
wait_lines ip2.out '^pod ' 1
PI2=$(awk '$1=="pod" && $3=="port" {print $4}' ip2.out)
timeout 120 "$EPPSIM" load --inference-perf "$SRC/tests/data/inference-perf/late-2025-run.yaml" --url "http://127.0.0.1:$PI2" \
  --time-scale 10 --no-plots -q -o ip2 >/dev/null 2>&1
[ "$(awk -F, 'NR > 1 && $4 == 404' ip2/requests.csv | wc -l)" -eq 120 ]
check "load --inference-perf sends server.model_name (another model's pod: 404)" $? "$(awk -F, 'NR > 1 {print $4}' ip2/requests.csv | sort | uniq -c)"
kill $IPS2

# a refused connection: status 0, not a hang.  The port is held bound (not
# listening) by a helper, so no other test's server can take it meanwhile.
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1], flush=True); time.sleep(600)' >closed.port &
pids+=($!)
wait_for 30 test -s closed.port; P0=$(cat closed.port)
printf 'name: two\nworkload: {num_requests: 2, arrival: {process: constant, rate: 50}, shared_prefix: {output_len: 4}}\n' > two.yaml
timeout 60 "$EPPSIM" load two.yaml --url "http://127.0.0.1:$P0" --no-plots -q -o refused >/dev/null 2>r.err
check "load against a closed port exits 0" $? "$(cat r.err)"
[ "$(awk -F, 'NR > 1 && $4 == 0' refused/requests.csv | wc -l)" -eq 2 ]; check "refused requests have status 0" $? "$(cat refused/requests.csv)"
# -f is --force, as for eppsim run: without it the existing directory is kept
timeout 60 "$EPPSIM" load two.yaml --url "http://127.0.0.1:$P0" --no-plots -q -o refused >/dev/null 2>r.err
[ $? -eq 2 ]; check "load into an existing directory without -f: exit 2" $? "$(cat r.err)"
timeout 60 "$EPPSIM" load two.yaml --url "http://127.0.0.1:$P0" --no-plots -q -f -o refused >/dev/null 2>r.err
check "load -f replaces the directory" $? "$(cat r.err)"

# bad input: exit 2 with a message
"$EPPSIM" load two.yaml --url "https://127.0.0.1:1" -o x 2>e.txt; [ $? -eq 2 ] && grep -q 'only http://' e.txt
check "https URL rejected (exit 2)" $? "$(cat e.txt)"
"$EPPSIM" load two.yaml -o x 2>e.txt; [ $? -eq 2 ] && grep -q -- '--url' e.txt
check "no --url: exit 2" $? "$(cat e.txt)"
"$EPPSIM" load two.yaml --url "http://example.com:80" -o x 2>e.txt; [ $? -eq 2 ] && grep -q 'not an IP address' e.txt
check "host names other than localhost rejected (no resolver)" $? "$(cat e.txt)"

"$EPPSIM" load two.yaml --url "http://127.0.0.1:1" --set workload.num_requests=abc -o x 2>e.txt
[ $? -eq 2 ] && grep -q -- '^eppsim: --set workload.num_requests=abc: ' e.txt
check "bad --set value named by its option, as eppsim run does" $? "$(cat e.txt)"
"$EPPSIM" load two.yaml --url "http://127.0.0.1:1" --set nosuchkey=1 -o x 2>e.txt
[ $? -eq 2 ] && grep -q -- '^eppsim: --set nosuchkey=1: ' e.txt
check "unknown --set key named by its option" $? "$(cat e.txt)"

# scrapes reuse one kept-alive connection per pod: a stand-in pod (python,
# HTTP/1.1 keep-alive) counts the connections that carried /metrics against
# the scrapes (every 100 ms model for the run's ~2 s; no timing asserted:
# a few scrapes suffice, and reuse only fails if every gap tops 5 s idle)
cat > pod.py <<'PY'
import http.server, json, sys, threading
seen = {"conns": 0, "scrapes": 0}
lock = threading.Lock()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def reply(self, ctype, body):
        self.send_response(200); self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def do_GET(self):
        with lock:
            seen["scrapes"] += 1
            if not getattr(self, "counted", False):   # one handler per connection
                self.counted = True; seen["conns"] += 1
            print("scrapes %d connections %d" % (seen["scrapes"], seen["conns"]), flush=True)
        self.reply("text/plain", b'vllm:num_requests_waiting{model_name="m"} 0\nvllm:num_requests_running{model_name="m"} 1\n'
                   b'vllm:kv_cache_usage_perc{model_name="m"} 0.5\n')
    def do_POST(self):
        n = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["max_tokens"]
        ev = ['data: {"choices":[{"index":0,"text":"abcd"}]}'] * n
        ev += ['data: {"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":%d}}' % n, "data: [DONE]"]
        self.reply("text/event-stream", ("\n\n".join(ev) + "\n\n").encode())
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print("port", s.server_address[1], flush=True)
s.serve_forever()
PY
python3 pod.py > pod.out 2>pod.err &
pids+=($!)
wait_lines pod.out '^port ' 1
PP=$(awk '$1=="port" {print $2}' pod.out)
printf 'name: reuse\nseed: 1\nworkload:\n  num_requests: 6\n  arrival: {process: poisson, rate: 3}\n  shared_prefix: {num_groups: 1, num_prompts_per_group: 6, system_prompt_len: 10, question_len: 10, output_len: 2, output_len_std: 0}\nresults: {timeseries_interval_ms: 100}\n' > reuse.yaml
timeout 120 "$EPPSIM" load reuse.yaml --url "http://127.0.0.1:$PP" --no-plots -q -o reuse >r.out 2>r.err
check "load against a keep-alive stand-in pod exits 0" $? "$(cat r.err)"
last=$(grep '^scrapes' pod.out | tail -n 1)
sc=$(echo "$last" | awk '{print $2}'); cn=$(echo "$last" | awk '{print $4}')
[ "${sc:-0}" -ge 3 ] && [ "${cn:-99}" -lt "$sc" ]; check "scrapes reuse a kept-alive connection ($last)" $? "$(cat pod.out r.err)"

[ "$fails" -eq 0 ] || exit 1
echo "all load checks passed"
