# Draws bench/results/latest.svg from the table hypercore-bench --plot-data
# writes. Usage: gnuplot -e "datafile='...'; outfile='...'" bench/plot.gp
set terminal svg size 900,480 dynamic font "sans,12"
set output outfile
set title "Durable throughput (median of runs; higher is better)"
set style data histogram
set style histogram cluster gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set ylabel "jobs/s (chain3: chains/s)"
set logscale y
set yrange [10:*]
set grid ytics
set key top right
set xtics nomirror
plot datafile using 2:xtic(1) title "hypercore", \
     '' using 3 title "BullMQ appendfsync always", \
     '' using 4 title "BullMQ appendfsync everysec (not durable)"
