#!/usr/bin/env bash
# `eppsim calibrate` end to end without the real data: a run made with a known
# API-server latency (40 ms) is written as inference-perf results; replayed
# with the default coefficients its TTFT is off, calibrated it must come back
# within 2 %, the coefficients file must hold them, and bad input exits 2.
#   tests/cli/calibrate.sh EPPSIM
set -uo pipefail
EPPSIM=$(realpath "$1")
SRC=$(cd "$(dirname "$0")/../.." && pwd)
D=$SRC/tests/data/validate
W=$(mktemp -d /tmp/eppsim-cli-calibrate-XXXXXX)
trap 'rm -rf "$W"' EXIT
cd "$W"
unset EPPSIM_VALIDATION_DIR
fails=0
fail() { echo "FAIL $*"; fails=$((fails + 1)); }

"$EPPSIM" run "$D/tiny.yaml" -q --no-plots -o run --write-inference-perf-results \
    --set server.vllm_fidelity=on --set server.api_latency_us=40000 || fail "run"
ttft_ape() { awk '$1 == "inference-perf" { print $3 }' "$1"; }
"$EPPSIM" validate run/inference-perf > before.txt || fail "validate before"
b=$(ttft_ape before.txt)
awk -v v="$b" 'BEGIN { exit !(v > 10) }' || fail "TTFT APE with the defaults is $b %, expected > 10 %"
"$EPPSIM" calibrate run/inference-perf -j 1 --iterations 12 -o coeffs.yaml > cal.txt 2> cal.err || fail "calibrate: $(cat cal.err)"
a=$(awk '$1 == "fitted," { print $5 }' cal.txt)
awk -v v="$a" 'BEGIN { exit !(v < 2) }' || fail "TTFT APE after calibrate is $a %, expected < 2 %"
grep -q "^server:" coeffs.yaml || fail "no server block in coeffs.yaml"
lat=$(awk '$1 == "api_latency_us:" { print $2 }' coeffs.yaml)
req=$(awk '$1 == "api_request_us:" { print $2 }' coeffs.yaml)
awk -v l="$lat" -v r="$req" 'BEGIN { s = l + r; exit !(s > 38000 && s < 46000) }' \
    || fail "latency + request = $lat + $req us, expected about 42000"
grep -q "run/inference-perf" coeffs.yaml || fail "the data are not named in coeffs.yaml"
[ ! -e coeffs.yaml.tmp ] || fail "temporary file left behind"
# hold-out on one run: the fold refits without it and reports it
"$EPPSIM" calibrate run/inference-perf -j 1 --iterations 4 --holdout loeo -o h.yaml > h.txt 2>/dev/null || fail "loeo"
grep -q "left one experiment out" h.txt || fail "no hold-out row: $(cat h.txt)"
# bad input
"$EPPSIM" calibrate run/inference-perf > /dev/null 2>&1; [ $? -eq 2 ] || fail "no -o: want exit 2"
"$EPPSIM" calibrate --holdout maybe -o x.yaml run/inference-perf > /dev/null 2> e.txt; [ $? -eq 2 ] || fail "bad --holdout: want exit 2"
grep -q "not none, loeo or lomo" e.txt || fail "bad --holdout message: $(cat e.txt)"
"$EPPSIM" calibrate -o x.yaml nowhere/at/all > /dev/null 2>&1; [ $? -eq 2 ] || fail "missing run: want exit 2"
[ ! -e x.yaml ] || fail "x.yaml written on bad input"
[ $fails -eq 0 ] && echo "ok   calibrate: TTFT APE $b % -> $a %, latency + request $lat + $req us" && exit 0
exit 1
