# Draws bench/results/latest.svg from the table hypercore-bench --plot-data
# writes. Usage: gnuplot -e "datafile='...'; outfile='...'" bench/plot.gp
set terminal svg size 900,520 dynamic font "sans,12"
set output outfile
set title "Throughput, median of runs (higher is better; log scale)"
set style data histogram
set style histogram cluster gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set ylabel "jobs/s (chain3: chains/s; http-*: BullMQ bars are its single add)"
set logscale y
set yrange [100:200000]
set grid ytics
set key outside bottom center horizontal
set xtics nomirror
# The first line of the data file names the columns.
set key autotitle columnheader
plot datafile using 2:xtic(1) title "hypercore (durable)", \
     '' using 3 title "BullMQ appendfsync always (durable)", \
     '' using 4 title "BullMQ appendfsync everysec"
