# plot-compare.gp -- overlays of several eppsim runs (called by scripts/plot-compare):
#   gnuplot -c plot-compare.gp OUT_DIR TMP_DIR NRUNS YMIN YMAX
# TMP_DIR holds run-<i>.csv (first line: the run's label, quoted; then its
# requests.csv rows) and compare.dat (label, TTFT p50 p99, E2E p50 p99,
# estimated, actual, oracle hit rates; tab-separated).  Paths and labels are
# only ever values (ARG1..ARG5, data): no user text becomes gnuplot code.
out = ARG1
tmp = ARG2
n = int(ARG3)
ymin = real(ARG4)
ymax = real(ARG5)
tab = tmp . '/compare.dat'
runfile(i) = sprintf('%s/run-%d.csv', tmp, i)

do for [fmt in "png svg"] {
  if (fmt eq "png") {
    set terminal pngcairo size 1100,600 noenhanced font 'DejaVu Sans,11'
  } else {
    set terminal svg size 1100,600 noenhanced font 'DejaVu Sans,11' background rgb 'white'
  }
  reset
  set datafile separator ","
  set datafile missing ""
  set grid lc rgb '#dddddd'
  set key outside right top
  set logscale x
  set yrange [0:1]
  set ylabel "fraction of completed requests"
  set output out . '/compare_ttft_cdf.' . fmt
  set title "TTFT at the client"
  set xlabel "TTFT (ms, log scale)"
  plot for [i=0:n-1] runfile(i) using ($4==200 ? $14 : 1/0):(1.0) smooth cnormal lw 2 title columnheader(1)
  set output out . '/compare_e2e_cdf.' . fmt
  set title "End-to-end latency at the client"
  set xlabel "E2E (ms, log scale)"
  plot for [i=0:n-1] runfile(i) using ($4==200 ? $16 : 1/0):(1.0) smooth cnormal lw 2 title columnheader(1)
  unset logscale x
  set datafile separator '\t'
  set datafile missing 'NaN'
  set style data histograms
  set style histogram clustered gap 1
  set xrange [-0.6:n-0.4]
  set style fill solid 0.85 border -1
  set xtics rotate by -20
  set output out . '/compare_hit_rates.' . fmt
  set title "Prefix-cache hit rate (of prompt tokens)"
  set xlabel ""
  set ylabel "hit rate (%)"
  set yrange [0:105]
  plot tab using (100*$6):xtic(1) title 'estimated by the EPP' lc rgb '#ff7f0e', \
       '' using (100*$7) title 'actual' lc rgb '#1f77b4', \
       '' using (100*$8) title 'oracle (upper bound)' lc rgb '#2ca02c'
  set output out . '/compare_latency.' . fmt
  set title "TTFT and E2E percentiles"
  set ylabel "ms (log scale)"
  set logscale y
  set yrange [ymin:ymax]
  plot tab using 2:xtic(1) title 'TTFT p50' lc rgb '#9ecae1', \
       '' using 3 title 'TTFT p99' lc rgb '#1f77b4', \
       '' using 4 title 'E2E p50' lc rgb '#fdae6b', \
       '' using 5 title 'E2E p99' lc rgb '#e6550d'
  unset output
}
