#!/usr/bin/env bash
# `eppsim calibrate` end to end without the real data: a run made with a known
# API-server latency (9 ms) is written as inference-perf results; replayed
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
    --set server.vllm_fidelity=on --set server.api_latency_us=9000 || fail "run"
ttft_ape() { awk '$1 == "inference-perf" { print $3 }' "$1"; }
"$EPPSIM" validate run/inference-perf > before.txt || fail "validate before"
b=$(ttft_ape before.txt)
awk -v v="$b" 'BEGIN { exit !(v > 10) }' || fail "TTFT APE with the defaults is $b %, expected > 10 %"
"$EPPSIM" calibrate run/inference-perf -j 1 --iterations 12 -o coeffs.yaml > cal.txt 2> cal.err || fail "calibrate: $(cat cal.err)"
a=$(awk '$1 == "fitted," && $4 == "all" { print $8 }' cal.txt)
awk -v v="$a" 'BEGIN { exit !(v < 2) }' || fail "TTFT APE after calibrate is $a %, expected < 2 %"
grep -q "^server:" coeffs.yaml || fail "no server block in coeffs.yaml"
lat=$(awk '$1 == "api_latency_us:" { print $2 }' coeffs.yaml)
req=$(awk '$1 == "api_request_us:" { print $2 }' coeffs.yaml)
awk -v l="$lat" -v r="$req" 'BEGIN { s = l + r; exit !(s > 11000 && s < 14000) }' \
    || fail "latency + request = $lat + $req us, expected about 12400"
grep -q "run/inference-perf" coeffs.yaml || fail "the data are not named in coeffs.yaml"
[ ! -e coeffs.yaml.tmp ] || fail "temporary file left behind"
# hold-out on one run: the fold refits without it and reports it
"$EPPSIM" calibrate run/inference-perf -j 1 --iterations 4 --holdout loeo -o h.yaml > h.txt 2>/dev/null || fail "loeo"
grep -q "left one experiment out" h.txt || fail "no hold-out row: $(cat h.txt)"
# the same experiment given twice counts once; --rows writes every row (stage or whole run)
mkdir -p copy && cp -r run/inference-perf copy/
"$EPPSIM" calibrate run/inference-perf copy/inference-perf -j 1 --iterations 2 --holdout loeo --rows rows.csv -o d.yaml > d.txt 2> d.err \
    || fail "calibrate with a duplicate: $(cat d.err)"
grep -q "given twice, counted once" d.err || fail "duplicate not reported: $(cat d.err)"
[ "$(grep -c '^#   ' d.yaml)" -eq 1 ] || fail "duplicate listed as data twice: $(cat d.yaml)"
head -1 rows.csv | grep -q "^run,model,source,stage,figure,measured,fitted,loeo$" || fail "rows header: $(head -1 rows.csv)"
[ "$(awk -F, 'NR > 1 && $4 == "run"' rows.csv | wc -l)" -eq 3 ] || fail "want 3 whole-run figures in rows.csv: $(cat rows.csv)"
[ "$(awk -F, 'NR > 1 && $8 != "nan"' rows.csv | wc -l)" -eq 9 ] || fail "held-out figures missing: $(cat rows.csv)"
# --surrogate: both hold-outs from one design of 2^3 + 6 + 1 replays
"$EPPSIM" calibrate run/inference-perf -j 1 --surrogate --holdout loeo,lomo --rows srows.csv -o s.yaml > s.txt 2> s.err \
    || fail "calibrate --surrogate: $(cat s.err)"
grep -q "15 evaluations" s.yaml || fail "surrogate design size: $(head -3 s.yaml)"
grep -q "left one model out, all rows (3)" s.txt || fail "no lomo rows: $(cat s.txt)"
head -1 srows.csv | grep -q ",fitted,loeo,lomo$" || fail "srows header: $(head -1 srows.csv)"
sa2=$(awk '$1 == "fitted," && $4 == "all" { print $8 }' s.txt)
awk -v v="$sa2" 'BEGIN { exit !(v < 5) }' || fail "TTFT APE after calibrate --surrogate is $sa2 %, expected < 5 % (a quadratic over a wide design): $(cat s.txt)"
grep -q "left one experiment out, whole runs (1)" d.txt || fail "no whole-run hold-out row: $(cat d.txt)"
# --fit joint writes the step coefficients and the API server's
"$EPPSIM" calibrate --fit joint --profile-weight 0 --model-configs "$SRC/tests/data/models" run/inference-perf -j 1 \
    --iterations 1 -o j.yaml > /dev/null 2> j.err || fail "calibrate --fit joint: $(cat j.err)"
grep -q "^  layer_us: " j.yaml && grep -q "^  api_latency_us: " j.yaml || fail "joint coefficients: $(cat j.yaml)"
# --start: the first evaluation is at the file's coefficients; a missing file is bad input
printf 'server:\n  api_latency_us: 7000\n' > start.yaml
"$EPPSIM" calibrate run/inference-perf -j 1 --iterations 1 --start start.yaml -v -o st0.yaml > /dev/null 2> st0.err \
    || fail "calibrate --start: $(cat st0.err)"
grep -q "eval   1: api_latency_us 7000 " st0.err || fail "--start not used: $(head -3 st0.err)"
"$EPPSIM" calibrate run/inference-perf --start nowhere.yaml -o x.yaml > /dev/null 2>&1; [ $? -eq 2 ] || fail "missing --start: want exit 2"
# bad input
"$EPPSIM" calibrate run/inference-perf > /dev/null 2>&1; [ $? -eq 2 ] || fail "no -o: want exit 2"
"$EPPSIM" calibrate --holdout maybe -o x.yaml run/inference-perf > /dev/null 2> e.txt; [ $? -eq 2 ] || fail "bad --holdout: want exit 2"
grep -q "not none, loeo or lomo" e.txt || fail "bad --holdout message: $(cat e.txt)"
"$EPPSIM" calibrate -o x.yaml nowhere/at/all > /dev/null 2>&1; [ $? -eq 2 ] || fail "missing run: want exit 2"
[ ! -e x.yaml ] || fail "x.yaml written on bad input"
# a run that cannot be replayed (its model neither profiled nor given a
# config.json) is an error naming it, not rows of inf and a coefficients file
cp -r run/inference-perf unknown && sed -i 's/^model: .*/model: "acme\/nosuch-7b"/' unknown/exp-config.yaml
"$EPPSIM" calibrate unknown -j 1 --iterations 2 -o x.yaml > /dev/null 2> e.txt; [ $? -eq 2 ] || fail "unreplayable run: want exit 2"
grep -q "unknown (unknown): not simulated: server.model: no model \"nosuch-7b\"" e.txt || fail "unreplayable run: $(cat e.txt)"
[ ! -e x.yaml ] || fail "x.yaml written for an unreplayable run"
# a relative --model-configs is the caller's folder, not the run's
mkdir -p cfgs && cp "$SRC/tests/data/models/llama-2-7b.json" cfgs/nosuch-7b.json
"$EPPSIM" validate --model-configs cfgs unknown > v.txt 2>&1 || fail "validate with a relative --model-configs: $(cat v.txt)"
! grep -q "not simulated" v.txt || fail "relative --model-configs not found: $(grep 'not simulated' v.txt)"
# --fit steptime: a run of an analytic model (llama-2-7b config.json) made with
# faster step coefficients than the shipped ones; replayed with the shipped
# ones its per-token time is off, calibrated it must come back within 2 %
sed 's/^  layer_us: .*/  layer_us: 20/; s/^  hbm_efficiency: .*/  hbm_efficiency: 0.9/' \
    "$SRC/data/steptime-coeffs.yaml" > fast.yaml
"$EPPSIM" run "$D/tiny.yaml" -q --no-plots -o st --write-inference-perf-results \
    --set server.model="$SRC/tests/data/models/llama-2-7b.json" --set server.step_coefficients="$W/fast.yaml" || fail "run st"
sed -i 's|^model: .*|model: "meta-llama/llama-2-7b"|' st/inference-perf/exp-config.yaml
pt_ape() { awk '$1 == "inference-perf" { print $6 }' "$1"; }
"$EPPSIM" validate --model-configs "$SRC/tests/data/models" st/inference-perf > st-before.txt || fail "validate st"
sb=$(pt_ape st-before.txt)
awk -v v="$sb" 'BEGIN { exit !(v > 10) }' || fail "per-token APE with the shipped step coefficients is $sb %, expected > 10 %"
"$EPPSIM" calibrate --fit steptime --profile-weight 0 --model-configs "$SRC/tests/data/models" st/inference-perf -j 1 \
    --iterations 12 -o st.yaml > st.txt 2> st.err || fail "calibrate --fit steptime: $(cat st.err)"
sa=$(awk '$1 == "fitted," && $4 == "all" { print $9 }' st.txt)
awk -v v="$sa" 'BEGIN { exit !(v < 2) }' || fail "per-token APE after calibrate --fit steptime is $sa %, expected < 2 %"
grep -q "^  layer_us: " st.yaml || fail "no analytic block in st.yaml: $(cat st.yaml)"
[ ! -e st.yaml.steptime.tmp ] || fail "temporary coefficients left behind"
"$EPPSIM" calibrate --fit nothing -o x.yaml run/inference-perf > /dev/null 2> e.txt; [ $? -eq 2 ] || fail "bad --fit: want exit 2"
grep -q "not vllm-fidelity, steptime or joint" e.txt || fail "bad --fit message: $(cat e.txt)"
[ $fails -eq 0 ] && echo "ok   calibrate: TTFT APE $b % -> $a %, steptime per-token $sb % -> $sa %, latency + request $lat + $req us" && exit 0
exit 1
