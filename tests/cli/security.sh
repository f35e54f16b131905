#!/usr/bin/env bash
# Hostile inputs that must not escape: user text never reaches a shell or
# gnuplot's command language (issue 19, class 1), and nothing is written
# outside the output root (class 2).  Every case runs in a scratch folder
# and then checks that no marker file appeared.
#
#   tests/cli/security.sh EPPSIM
set -uo pipefail
EPPSIM=$(realpath "$1")
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

echo "$n cases, $fails failed"
[ $fails -eq 0 ]
