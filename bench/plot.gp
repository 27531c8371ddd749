# The benchmark chart (gnuplot >= 5.2). Variables (gnuplot -e): datadir (the
# .dat files written by report.write_chart_data), out (PNG path), labels (one
# word per runtime, in column order), title, note (a second title line).
#   seq_<metric>.dat:  scenario, then median p10 p90 per runtime
#   conc_<metric>.dat: N, then the median per runtime
set terminal pngcairo size 1500,900 font ",10"
set output out
n = words(labels)
dat(name) = sprintf("%s/%s.dat", datadir, name)
set multiplot layout 2,3 title (note eq "" ? title : title."\n".note) font ",12"
set key top left opaque box
set offsets 0, 0, graph 0.45, 0   # headroom for the key
set grid ytics

# Top row: sequential scenarios, one bar per runtime.
array seq_file[3] = ["seq_wall_ms", "seq_cpu_ms", "seq_maxrss_mib"]
array seq_title[3] = ["sequential: wall time (median, p10-p90)", \
                      "sequential: user+sys CPU of the runtime's processes", \
                      "sequential: peak RSS of the runtime's processes"]
array seq_unit[3] = ["ms", "ms", "MiB"]
set style data histogram
set style histogram errorbars gap 1 lw 1
set style fill solid 0.7 border -1
set yrange [0:*]
do for [p=1:3] {
  set title seq_title[p]
  set ylabel seq_unit[p]
  plot for [i=1:n] dat(seq_file[p]) \
       using (column(3*i-1)):(column(3*i)):(column(3*i+1)):xtic(1) title word(labels, i)
}

# Bottom row: N containers started at once.
array conc_file[3] = ["conc_per_container_ms", "conc_total_ms", "conc_cpu_per_container_ms"]
array conc_title[3] = ["concurrent run: wall time per container (total / N)", \
                       "concurrent run: total wall time (log scale)", \
                       "concurrent run: user+sys CPU per container"]
set style data linespoints
set logscale x 2
set xlabel "containers started at once (N)"
set ylabel "ms"
do for [p=1:3] {
  set title conc_title[p]
  if (p == 2) {   # grows with N: the key goes bottom right, no headroom
    set logscale y; set yrange [*:*]; set offsets 0, 0, 0, 0; set key bottom right
  } else {
    unset logscale y; set yrange [0:*]; set offsets 0, 0, graph 0.45, 0; set key top left
  }
  plot for [i=1:n] dat(conc_file[p]) using 1:(column(i+1)) title word(labels, i)
}
unset multiplot
