# plot-sweep-points.gp -- one bar per sweep point with its 95 % interval
# (called by scripts/plot-sweep for sweeps written as a `points:` list):
#   gnuplot -c plot-sweep-points.gp OUT_BASE DATA NPOINTS METRIC HEIGHT
# DATA: tab-separated point, mean, low, high, label (the point's defining
# values).  Writes OUT_BASE.png and OUT_BASE.svg.  Every argument is only a
# value: no user text becomes gnuplot code.
base = ARG1
data = ARG2
n = int(ARG3)
metric = ARG4
height = int(ARG5)
do for [fmt in "png svg"] {
  if (fmt eq "png") {
    set terminal pngcairo size 1100,height noenhanced font 'DejaVu Sans,11'
  } else {
    set terminal svg size 1100,height noenhanced font 'DejaVu Sans,11' background rgb 'white'
  }
  reset
  set output base . '.' . fmt
  set datafile separator '\t'
  set datafile missing 'NaN'
  set grid x lc rgb '#dddddd'
  set title sprintf('%s: mean across seeds with its 95 %% interval', metric)
  set xlabel metric
  # points two orders of magnitude apart: a log axis, else the small bars vanish
  stats data using 2 nooutput
  set yrange [n - 0.5:-0.5]
  floor = 0
  if (STATS_min > 0 && STATS_max / STATS_min > 100) {
    floor = 10**floor(log10(STATS_min))
    set logscale x
    set xrange [floor:10**ceil(log10(STATS_max) + 0.5)]   # room for the last label
    set format x '%.0s%c'                                  # 100, 1k, 10M: never 10000000
  } else {
    set xrange [0:*]
    set offsets 0, graph 0.12, 0, 0
  }
  if (STATS_max >= 10000 && floor == 0) { set format x '%.0f' }   # plain numbers, never 1e+06
  # one number of decimals for every label of the plot, from the largest value
  big = abs(STATS_max) > abs(STATS_min) ? abs(STATS_max) : abs(STATS_min)
  lfmt = big >= 100 ? ' %.0f' : (big >= 10 ? ' %.1f' : (big >= 1 ? ' %.2f' : ' %.3g'))
  set ytics scale 0
  set style fill solid 0.8 border -1
  set key outside right top
  plot data using 2:0:(floor):2:($0 - 0.35):($0 + 0.35):ytic(5) with boxxyerror lc rgb '#1f77b4' title 'mean', \
       '' using 2:0:3:4 with xerrorbars lc rgb '#222222' pt -1 lw 1.5 title '95 % interval', \
       '' using 4:0:(sprintf(lfmt, $2)) with labels left offset 0.5,0 notitle
  unset output
}
