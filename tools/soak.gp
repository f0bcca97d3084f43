# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# gnuplot script of `make soak` (tests/e2e/e2e_soak.sh): the sampled series.
# Usage: gnuplot -e "csv='soak.csv'; out='soak.png'; subtitle='...'" tools/soak.gp
# Columns (soak.csv header): 1 t_s, 2 mdrd_rss_kb, 3 resp_rss_kb, 4 mdrd_fds,
# 5 resp_fds, 6 umem_in_use, 7 resp_sockets, 8 conns_open, 9 mdr_inst,
# 10 mdr_uuids, 11-16 mdr_chunk0..5, 17 mdr_ports, 18 mdr_macs, 19 mdr_limits,
# 20 mdr_rl, 21 mdr_passwords, 22 mdr_istats, 23 mdr_rstats, 24 orphans,
# 25 req_ok, 26 req_failed.
if (!exists("subtitle")) subtitle = ""
set terminal pngcairo size 1400,1000 font "DejaVu Sans,10" noenhanced
set output out
set datafile separator ","
set datafile missing "NaN"
set key top left
set grid
set xlabel "minutes"
set multiplot layout 3,2 title "mdr soak: mixed traffic, churn, hot-plug, a flooding guest (".subtitle.")"
set title "resident memory (MiB)"
set yrange [0:*]
plot csv every ::1 using ($1/60):($2/1024) with lines lw 2 title "mdrd", \
     csv every ::1 using ($1/60):($3/1024) with lines lw 2 title "mdr-responder"
set title "open file descriptors"
plot csv every ::1 using ($1/60):4 with lines lw 2 title "mdrd", \
     csv every ::1 using ($1/60):5 with lines lw 2 title "mdr-responder"
set title "UMEM frames in use (fill rings + in flight) and sockets x 100"
plot csv every ::1 using ($1/60):6 with lines lw 2 title "frames in use", \
     csv every ::1 using ($1/60):($7*100) with lines lw 1 title "sockets x 100"
set title "open TCP connections (opened - closed; the flooder holds up to 200)"
plot csv every ::1 using ($1/60):8 with lines lw 2 title "connections"
set title "map entries"
plot csv every ::1 using ($1/60):9 with lines lw 2 title "mdr_inst", \
     csv every ::1 using ($1/60):($11+$12+$13+$14+$15+$16) with lines lw 2 title "chunks (all classes)", \
     csv every ::1 using ($1/60):20 with lines lw 1 title "mdr_rl", \
     csv every ::1 using ($1/60):23 with lines lw 1 title "mdr_rstats", \
     csv every ::1 using ($1/60):24 with lines lw 2 title "orphans"
set title "requests of the judged guests (thousands)"
plot csv every ::1 using ($1/60):($25/1000) with lines lw 2 title "ok", \
     csv every ::1 using ($1/60):($26/1000) with lines lw 2 title "failed"
unset multiplot
