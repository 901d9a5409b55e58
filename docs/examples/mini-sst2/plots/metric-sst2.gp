# metric-sst2: written by `cap report`; redraw with: gnuplot metric-sst2.gp
set datafile separator whitespace
set terminal pngcairo noenhanced size 800,500 font 'DejaVu Sans,10'
set output 'metric-sst2.png.tmp'
set title 'sst2: accuracy against remaining weights'
set xlabel 'remaining weights (%), log scale; sparser to the right'
set ylabel 'accuracy'
set logscale x
set xrange [100:6.666666667]
set xtics ('100' 100, '50' 50, '30' 30, '20' 20, '10' 10, '5' 5, '3' 3, '2' 2, '1' 1, '0.5' 0.5)
set grid
set key outside right top
plot 'metric-sst2.dat' index 0 using 1:2:3 with yerrorlines pointtype 7 linewidth 2 title 'first-order', \
     'metric-sst2.dat' index 1 using 1:2:3 with yerrorlines pointtype 7 linewidth 2 title 'CAP-f', \
     'metric-sst2.dat' index 2 using 1:2:3 with yerrorlines pointtype 7 linewidth 2 title 'magnitude (heads, FFN)', \
     'metric-sst2.dat' index 3 using 1:2:3 with yerrorlines pointtype 7 linewidth 2 title 'Taylor', \
     'metric-sst2.dat' index 4 using 1:2:3 with yerrorlines pointtype 7 linewidth 2 title 'Taylor + CAP', \
     'metric-sst2.dat' index 5 using 1:2:3 with yerrorlines pointtype 7 linewidth 2 title 'Wanda', \
     'metric-sst2.dat' index 6 using 1:2:3 with yerrorlines pointtype 7 linewidth 2 title 'Wanda + CAP', \
     'metric-sst2.dat' index 7 using 1:2:3 with yerrorlines pointtype 7 linewidth 2 title 'Wanda (per weight)', \
     'metric-sst2.dat' index 8 using 1:2:3 with yerrorlines pointtype 7 linewidth 2 title 'Taylor (per weight)', \
     'metric-sst2.dat' index 9 using 1:2:3 with yerrorlines pointtype 7 linewidth 2 title 'Taylor + CAP (per weight)', \
     'metric-sst2.dat' index 10 using 1:2:3 with yerrorlines pointtype 7 linewidth 2 title 'movement', \
     'metric-sst2.dat' index 11 using 1:2:3 with yerrorlines pointtype 7 linewidth 2 title 'CAP-m', \
     78.89908257 with lines dashtype 2 linecolor rgb 'gray40' title 'teacher (dense)'
set terminal svg noenhanced size 800,500 font 'DejaVu Sans,10'
set output 'metric-sst2.svg.tmp'
replot
set output
