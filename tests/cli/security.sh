#!/usr/bin/env bash
# Hostile inputs that must not escape: user text never reaches a shell or
# gnuplot's command language (issue 19, class 1), and nothing is written
# outside the output root (class 2).  Every case runs in a scratch folder
# and then checks that no marker file appeared.
#
#   tests/cli/security.sh EPPSIM
set -uo pipefail
EPPSIM=$(realpath "$1")
. "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
[ -n "${ES_FAILIO:-}" ] && ES_FAILIO=$(realpath "$ES_FAILIO")
W=$(mktemp -d /tmp/eppsim-cli-security-XXXXXX)
trap 'rm -rf "$W"' EXIT
cd "$W"
fails=0; n=0
have_gnuplot=0; command -v gnuplot >/dev/null 2>&1 && have_gnuplot=1

ok()   { n=$((n + 1)); echo "ok   $1"; }
fail() { n=$((n + 1)); fails=$((fails + 1)); echo "FAIL $1: $2"; }

# exp NAME: an experiment file named NAME (a YAML block scalar: no escaping)
exp() { printf 'name: |-\n  %s\nworkload: {num_requests: 20}\n' "$1" > a.yaml; }

pwned() { ls "$W"/PWNED* /tmp/PWNED-eppsim* 2>/dev/null | head -1; }

# run_case LABEL [ARGS...]: runs eppsim with plots; nothing may be created
run_case() {
  local label=$1; shift
  rm -rf "$W"/out "$W"/PWNED*
  "$EPPSIM" run -q "$@" a.yaml >"$W/.stdout" 2>"$W/.stderr"
  local rc=$? p; p=$(pwned)
  if [ -n "$p" ]; then fail "$label" "created $p (a shell or gnuplot ran user text)"; return; fi
  if grep -q 'AddressSanitizer\|runtime error' "$W/.stderr"; then fail "$label" "sanitizer report"; cat "$W/.stderr"; return; fi
  if [ $rc -ne 0 ] && [ $rc -ne 2 ]; then fail "$label" "exit $rc"; cat "$W/.stderr"; return; fi
  if [ $rc -eq 0 ] && [ $have_gnuplot = 1 ]; then
    local plots; plots=$(find "$W/out" -name latency_cdf.png | head -1)
    [ -n "$plots" ] || { fail "$label" "exit 0 but no plots drawn"; return; }
  fi
  ok "$label (exit $rc)"
}

echo "== class 1: no user text reaches a shell or gnuplot's language"
for name in \
  "x';touch PWNED1;'" \
  'x";touch PWNED2;"' \
  'x`touch PWNED3`y' \
  'x$(touch PWNED4)y' \
  "x'; system(\"touch PWNED5\"); '" \
  'x"; system("touch PWNED6"); "' \
  "x' . system('touch PWNED7') . '" \
  'x" . system("touch PWNED8") . "' \
  'x @ARG1 `touch PWNED9`' ; do
  exp "$name"; run_case "name: $name"
done
exp plain
run_case "--out with a quote" -o "out/a';touch PWNED10;'"
run_case "--out with a backquote" -o 'out/a`touch PWNED11`'
run_case "--out with gnuplot quotes" -o "out/a'; system(\"touch PWNED12\"); '"

echo "== class 2: nothing is written outside the output root"
# outside CASE PATH: after the run, PATH must not exist
outside() {
  local label=$1 path=$2; shift 2
  rm -rf "$W"/out "$path"
  "$EPPSIM" run -q --no-plots "$@" a.yaml >"$W/.stdout" 2>"$W/.stderr"
  local rc=$?
  if [ -e "$path" ]; then fail "$label" "wrote $path"; rm -rf "$path"; return; fi
  [ $rc -eq 2 ] || { fail "$label" "exit $rc, expected 2"; return; }
  ok "$label"
}
exp "../x";   outside "name: ../x" "$W/x-seed1"
exp "../../$(basename "$W")/y"; outside "name: ../../<scratch>/y" "$W/y-seed1"
# a path cut at a fixed size after the exists check replaced an unrelated
# directory: $pad/victim + more bytes used to be cut to $pad/victim
mkdir -p victim; touch victim/keep
pad=$(printf './%.0s' $(seq 508)); long="${pad}/victim$(printf 'z%.0s' $(seq 100))"
exp plain
rm -rf out; "$EPPSIM" run -q --no-plots -o "$long" a.yaml >"$W/.stdout" 2>"$W/.stderr"; rc=$?
if [ ! -e victim/keep ]; then fail "--out cut to an existing directory" "victim/ was replaced (exit $rc)"
elif [ $rc -ne 2 ]; then fail "--out cut to an existing directory" "exit $rc, expected 2"
else ok "--out cut to an existing directory"; fi

# A process counts as running unless it is gone or a zombie: where PID 1 does
# not reap orphans (some containers), a killed grandchild stays a zombie.
running() { [ -r "/proc/$1/stat" ] && [ "$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" != Z ]; }

echo "== class 6: SIGTERM stops a run at once, however dense the simulated time"
# 10M req/s: one 200 ms slice of simulated time is ~2M requests (~50 s of wall time)
printf 'workload: {num_requests: 20000000, arrival: {rate: 10000000}}\ncluster: {replicas: 50}\nresults: {requests_csv: false, oracle: false}\n' > dense.yaml
rm -rf out; "$EPPSIM" run -q --no-plots -o out dense.yaml >/dev/null 2>&1 & pid=$!
# the run has begun (its temporary directory), then 2 s into the slice
wait_for 60 test -d "out.tmp-$pid"; sleep 2; kill -TERM $pid
# stopping at once is seconds at most; the slice alone is ~50 s, more on a loaded machine
wait_for 30 eval '! running $pid'
if running $pid; then kill -KILL $pid; wait $pid 2>/dev/null; fail "SIGTERM during a dense slice" "still running 30 s after SIGTERM"
else wait $pid; rc=$?; if [ $rc -eq 130 ] && [ ! -e out ]; then ok "SIGTERM during a dense slice (exit 130)"; else fail "SIGTERM during a dense slice" "exit $rc"; fi; fi
rm -rf "$W"/out*

echo "== class 7: no data lost or half-written"
TR="$SRC/tests/data/traces/mooncake_sample.jsonl"
cp "$TR" t.jsonl; sum0=$(sha256sum < t.jsonl)
"$EPPSIM" trace convert t.jsonl -o t.jsonl >/dev/null 2>&1; rc=$?
if [ "$(sha256sum < t.jsonl)" != "$sum0" ]; then fail "trace convert X -o X" "X was changed (exit $rc)"
elif [ $rc -ne 2 ]; then fail "trace convert X -o X" "exit $rc, expected 2"; else ok "trace convert X -o X (refused, X intact)"; fi
head -3 "$TR" > bad.jsonl; echo '{"timestamp": 9, "input_length": "x"}' >> bad.jsonl
rm -f conv.jsonl; "$EPPSIM" trace convert bad.jsonl --format mooncake -o conv.jsonl >/dev/null 2>&1; rc=$?
if [ -e conv.jsonl ] || ls conv.jsonl.tmp-* >/dev/null 2>&1; then fail "failed convert" "left a partial file (exit $rc)"
elif [ $rc -ne 2 ]; then fail "failed convert" "exit $rc"; else ok "failed convert leaves no file"; fi
echo old > keep.jsonl; "$EPPSIM" trace convert bad.jsonl --format mooncake -o keep.jsonl >/dev/null 2>&1
[ "$(cat keep.jsonl)" = old ] && ok "failed convert keeps an existing OUT" || fail "failed convert" "replaced an existing OUT"

# a full disk, file by file: rename() of each output fails with ENOSPC
if [ -n "${ES_FAILIO:-}" ] && [ -f "$ES_FAILIO" ]; then
  exp plain
  for f in summary.json pods.csv experiment.yaml epp-config.yaml run-info.json report.md; do
    rm -rf out
    ES_FAIL_RENAME=$f LD_PRELOAD="$ES_FAILIO" ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" \
      "$EPPSIM" run -q --no-plots -o out a.yaml >/dev/null 2>"$W/.stderr"; rc=$?
    if [ -e out ]; then fail "full disk at $f" "committed out/ (exit $rc)"
    elif [ $rc -eq 0 ]; then fail "full disk at $f" "exit 0"
    elif ls -d out.tmp-* >/dev/null 2>&1; then fail "full disk at $f" "left out.tmp-*"
    else ok "full disk at $f: exit $rc, nothing committed"; fi
  done
else
  echo "skip full-disk cases (ES_FAILIO not set: run through ctest)"
fi

# SIGTERM while gnuplot runs: gnuplot is stopped, nothing is committed, exit 130
mkdir -p fakebin; printf '#!/bin/sh\necho $$ > %s/gnuplot.pid\nexec sleep 30\n' "$W" > fakebin/gnuplot; chmod +x fakebin/gnuplot
exp plain; rm -rf out "$W/gnuplot.pid"
PATH="$W/fakebin:$PATH" "$EPPSIM" run -q -o out a.yaml >/dev/null 2>&1 & pid=$!
wait_for 60 test -s "$W/gnuplot.pid" || fail "SIGTERM during gnuplot" "gnuplot not started in 60 s"
kill -TERM $pid
wait_for 30 eval '! running $pid'
if running $pid; then kill -KILL $pid; wait $pid 2>/dev/null; fail "SIGTERM during gnuplot" "still running 30 s later"
else
  wait $pid; rc=$?; gp=$(cat "$W/gnuplot.pid" 2>/dev/null)
  # the signal reaches gnuplot at once; give it a moment to be reaped
  wait_for 30 eval '[ -z "$gp" ] || ! running "$gp"'
  if [ -e out ]; then fail "SIGTERM during gnuplot" "committed out/ (exit $rc)"
  elif [ $rc -ne 130 ]; then fail "SIGTERM during gnuplot" "exit $rc, expected 130"
  elif [ -n "$gp" ] && running "$gp"; then kill "$gp"; fail "SIGTERM during gnuplot" "gnuplot left running"
  else ok "SIGTERM during gnuplot: exit 130, nothing committed, gnuplot stopped"; fi
fi

# a run killed with SIGKILL left out/x.tmp-PID: the next run into out/x removes it
true & dead=$!; wait $dead
mkdir -p out; rm -rf out/x; mkdir -p "out/x.tmp-$dead/plots"; touch "out/x.tmp-$dead/requests.csv"
exp plain; "$EPPSIM" run -q --no-plots -o out/x a.yaml >/dev/null 2>&1; rc=$?
if [ -e "out/x.tmp-$dead" ]; then fail "stale out/x.tmp-PID" "still there after the next run (exit $rc)"
elif [ $rc -ne 0 ]; then fail "stale out/x.tmp-PID" "exit $rc"; else ok "stale out/x.tmp-PID of a dead process removed"; fi
sleep 60 & alive=$!; mkdir -p "out/x.tmp-$alive"
"$EPPSIM" run -q --no-plots --force -o out/x a.yaml >/dev/null 2>&1
[ -d "out/x.tmp-$alive" ] && ok "out/x.tmp-PID of a live process kept" || fail "live out/x.tmp-PID" "removed"
kill $alive; wait $alive 2>/dev/null
rm -rf "$W"/out*

echo "== class 9: outputs reload from anywhere"
mkdir -p A B; cp "$SRC/tests/data/traces/mooncake_sample.jsonl" A/t.jsonl
printf 'apiVersion: inference.networking.x-k8s.io/v1alpha1\nkind: EndpointPickerConfig\nplugins:\n- type: queue-scorer\n' > A/epp.yaml
printf 'name: reload\nepp: {config_file: epp.yaml}\nworkload: {type: trace, num_requests: 20, trace: {file: t.jsonl}}\n' > A/a.yaml
(cd A && "$EPPSIM" run -q --no-plots -o out a.yaml >/dev/null 2>&1)
(cd B && "$EPPSIM" run -q --no-plots -o out ../A/out/experiment.yaml >/dev/null 2>"$W/.stderr"); rc=$?
if [ $rc -ne 0 ]; then fail "run dir's experiment.yaml from another directory" "exit $rc: $(tail -1 "$W/.stderr")"
elif ! cmp -s <(grep -v '"wall\|elapsed' A/out/summary.json) <(grep -v '"wall\|elapsed' B/out/summary.json); then fail "reloaded run" "summary.json differs"
else ok "run dir's experiment.yaml reloads from another directory, same summary"; fi
rm -rf A B

echo "$n cases, $fails failed"
[ $fails -eq 0 ]
