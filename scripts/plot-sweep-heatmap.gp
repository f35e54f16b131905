# plot-sweep-heatmap.gp -- a metric over two swept keys (called by scripts/plot-sweep):
#   gnuplot -c plot-sweep-heatmap.gp OUT_BASE TMP_DIR NX NY XKEY YKEY METRIC
# TMP_DIR holds heat.dat (x index, y index, value), xtics.dat and ytics.dat
# (index, the key's value).  Writes OUT_BASE.png and .svg.  Every argument is
# only a value: no key, value or path becomes gnuplot code.
base = ARG1
tmp = ARG2
nx = int(ARG3)
ny = int(ARG4)
xkey = ARG5
ykey = ARG6
metric = ARG7
heat = tmp . '/heat.dat'
do for [fmt in "png svg"] {
  if (fmt eq "png") {
    set terminal pngcairo size 900,700 noenhanced font 'DejaVu Sans,11'
  } else {
    set terminal svg size 900,700 noenhanced font 'DejaVu Sans,11' background rgb 'white'
  }
  reset
  set output base . '.' . fmt
  set datafile separator '\t'
  set datafile missing 'NaN'
  set xrange [-0.5:nx - 0.5]
  set yrange [-0.5:ny - 0.5]
  set xtics () ; set ytics ()
  set xlabel xkey
  set ylabel ykey
  set title sprintf('%s (mean across seeds)', metric)
  set palette defined (0 '#2166ac', 0.5 '#f7f7f7', 1 '#b2182b')
  set cblabel metric
  plot heat using 1:2:3 with image notitle, \
       heat using 1:2:(sprintf('%.3g', $3)) with labels notitle, \
       tmp . '/xtics.dat' using 1:(NaN):xticlabels(2) notitle, \
       tmp . '/ytics.dat' using (NaN):1:yticlabels(2) notitle
  unset output
}
