# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# gnuplot script of `make bench`: mdr vs nginx, side by side.
# Usage: gnuplot -e "dat='DIR/plot.dat'; out='DIR/bench.png'; subtitle='...'" plot.gp
# plot.dat (tools/bench/report.py): three blocks of  "label" mdr nginx
#   index 0: throughput (k req/s), 1: p99 latency (ms), 2: boot storm (s).
if (!exists("subtitle")) subtitle = ""
set terminal pngcairo size 1400,900 font "DejaVu Sans,10" noenhanced
set output out
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key top right
set yrange [0:*]
set xtics nomirror
set bmargin 4
set datafile missing "NaN"
set multiplot title "mdr (XDP + AF_XDP) vs nginx: same machine, same run, medians ".subtitle
set origin 0, 0.48
set size 1, 0.47
set title "Throughput (higher is better)"
set ylabel "k requests/s"
plot dat index 0 using 2:xtic(1) title "mdr" lc rgb "#1f77b4", \
     ''  index 0 using 3 title "nginx" lc rgb "#2ca02c"
set origin 0, 0
set size 0.62, 0.47
set title "p99 latency, one guest (lower is better)"
set ylabel "ms"
plot dat index 1 using 2:xtic(1) title "mdr" lc rgb "#1f77b4", \
     ''  index 1 using 3 title "nginx" lc rgb "#2ca02c"
set origin 0.62, 0
set size 0.38, 0.47
set title "Boot storm: time until every guest is done (lower is better)"
set ylabel "s"
plot dat index 2 using 2:xtic(1) title "mdr" lc rgb "#1f77b4", \
     ''  index 2 using 3 title "nginx" lc rgb "#2ca02c"
unset multiplot
