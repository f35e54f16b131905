# plot-sweep-rate.gp -- a metric against a rate key, one curve per
# configuration of the other keys (called by scripts/plot-sweep):
#   gnuplot -c plot-sweep-rate.gp OUT_BASE TMP_DIR NCURVES RATE_KEY METRIC
# TMP_DIR holds curve-<i>.dat: a quoted label line, then rate, mean, low,
# high.  Writes OUT_BASE.png and .svg.  Every argument is only a value.
base = ARG1
tmp = ARG2
n = int(ARG3)
rkey = ARG4
metric = ARG5
curve(i) = sprintf('%s/curve-%d.dat', tmp, i)
do for [fmt in "png svg"] {
  if (fmt eq "png") {
    set terminal pngcairo size 1000,650 noenhanced font 'DejaVu Sans,11'
  } else {
    set terminal svg size 1000,650 noenhanced font 'DejaVu Sans,11' background rgb 'white'
  }
  reset
  set output base . '.' . fmt
  set datafile separator '\t'
  set datafile missing ''
  set grid lc rgb '#dddddd'
  set key outside right top
  set xlabel rkey
  set ylabel metric
  set title sprintf('%s vs %s (mean across seeds, 95 %% band)', metric, rkey)
  plot for [i=0:n-1] curve(i) using 1:3:4 with filledcurves fs transparent solid 0.2 lc (i % 8 + 1) notitle, \
       for [i=0:n-1] curve(i) using 1:2 with linespoints lw 2 pt 7 lc (i % 8 + 1) title columnheader(1)
  unset output
}
