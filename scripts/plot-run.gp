# plot-run.gp -- the plots of one eppsim run (called by scripts/plot-run):
#   gnuplot -c plot-run.gp OUT_DIR SPLIT_DIR LABEL NPODS BIN_S MAX_WAITING
# Every path and label arrives as a string argument (ARG1..ARG4) and is only
# ever used as a value: no user text is pasted into gnuplot code, so quotes,
# backquotes or `@` in a run name cannot run anything.
# SPLIT_DIR holds pod-<i>.csv (first line: the pod's name) and all.csv: the
# rows of timeseries.csv per pod, as gnuplot breaks a line at every filtered row,
# pods.csv (pods.csv without its header) and hit_bins.csv (time, estimated,
# actual, oracle hit rates in BIN_S-second bins).  MAX_WAITING is the longest
# waiting queue of any pod: counts get whole-number tics (gnuplot's own step
# for a range under ~10 is 0.5 or 0.2).
dir = ARG1
split = ARG2
label = ARG3
npods = int(ARG4)
bin = ARG5
maxwaiting = int(ARG6)
podrows = split . '/pods.csv'
hitbins = split . '/hit_bins.csv'
req = dir . '/requests.csv'
pods = dir . '/pods.csv'
all = split . '/all.csv'
podfile(i) = sprintf('%s/pod-%d.csv', split, i)

set datafile separator ","
set datafile missing ""

do for [fmt in "png svg"] {
  if (fmt eq "png") {
    set terminal pngcairo size 1000,600 noenhanced font 'DejaVu Sans,11'
  } else {
    set terminal svg size 1000,600 noenhanced font 'DejaVu Sans,11' background rgb 'white'
  }
  reset
  set datafile separator ","
  set datafile missing ""
  set grid lc rgb '#dddddd'
  # legends outside the plot area: inside, a box hides whatever curve runs under it
  set key outside right top box
  set style line 1 lc rgb '#1f77b4' lw 2
  set style line 2 lc rgb '#ff7f0e' lw 2
  set style line 3 lc rgb '#2ca02c' lw 2

  stats req using ($4==200 && valid(14) ? $14 : 1/0) name "TTFT" nooutput
  stats req using ($4==200 && valid(16) ? $16 : 1/0) name "E2E" nooutput

  set output dir . '/plots/latency_cdf.' . fmt
  set title sprintf("Latency CDF at the client (%s)", label)
  set xlabel "latency (ms, log scale)"
  set ylabel "fraction of completed requests"
  set logscale x
  set yrange [0:1]
  plot req using ($4==200 ? $14 : 1/0):(1.0/TTFT_records) smooth cumulative ls 1 title sprintf('TTFT (p50 %.0f ms)', TTFT_median), \
       req using ($4==200 ? $16 : 1/0):(1.0/E2E_records) smooth cumulative ls 2 title sprintf('E2E (p50 %.0f ms)', E2E_median)
  unset logscale x
  set autoscale y

  set output dir . '/plots/ttft_over_time.' . fmt
  set title sprintf("Time to first token over the run (%s)", label)
  set xlabel "arrival time (s)"
  set ylabel "TTFT (ms)"
  set key outside right top
  set yrange [0:*]
  plot req using 2:($4==200 ? $14 : 1/0) with points pt 7 ps 0.3 lc rgb '#9ecae1' title 'each request', \
       all using 1:($11) with lines ls 1 title 'mean per interval'

  set output dir . '/plots/hit_rates.' . fmt
  set title sprintf("Prefix-cache hit rate over time, %s s bins (%s)", bin, label)
  set xlabel "time (s)"
  set ylabel "hit rate of prompt tokens (%)"
  set yrange [0:105]
  set key outside right top
  plot hitbins using 1:(100*$4) with lines ls 3 lw 4 dt 2 title 'oracle (upper bound)', \
       hitbins using 1:(100*$2) with lines ls 2 title 'estimated by the EPP', \
       hitbins using 1:(100*$3) with lines ls 1 title 'actual (from cache)'
  set autoscale y

  set output dir . '/plots/pod_waiting.' . fmt
  set title sprintf("Waiting queue per pod (vllm:num_requests_waiting, %s)", label)
  set xlabel "time (s)"
  set ylabel "requests waiting"
  set key outside right top
  set yrange [0:*]
  set offsets 0, 0, 1, 0
  if (maxwaiting < 10) { set ytics 1 }
  plot for [i=0:npods-1] podfile(i) using 1:(column(3)) with lines lw 1.5 title columnheader(1)
  set ytics autofreq

  set output dir . '/plots/pod_kv_usage.' . fmt
  set title sprintf("KV-cache usage per pod (vllm:kv_cache_usage_perc, %s)", label)
  set xlabel "time (s)"
  set ylabel "KV-cache usage (%)"
  set yrange [0:*]
  set offsets 0, 0, 0.5, 0
  plot for [i=0:npods-1] podfile(i) using 1:(100*column(5)) with lines lw 1.5 title columnheader(1)

  set output dir . '/plots/pod_share.' . fmt
  set title sprintf("Requests per pod (%s)", label)
  set style fill solid 0.8 border -1
  set boxwidth 0.7
  set xlabel "pod"
  set ylabel "requests"
  set yrange [0:*]
  set xtics rotate by -30
  set offsets 0, 0, graph 0.1, 0
  set xrange [-0.6:npods-0.4]
  stats podrows using 3 name "REQ" nooutput
  if (REQ_max < 10) { set ytics 1 }
  set key outside right top vertical
  # boxes at 0..npods-1 from a header-less file: every pod gets its bar
  plot podrows using 0:3:xtic(1) with boxes lc rgb '#1f77b4' title 'requests', \
       podrows using 0:3:(sprintf('%d', $3)) with labels offset 0,0.7 notitle, \
       REQ_sum / npods with lines dt 2 lc rgb '#444444' title 'even share'
  unset output
}
