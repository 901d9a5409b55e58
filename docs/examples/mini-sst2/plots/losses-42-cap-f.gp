# losses-42-cap-f: written by `cap report`; redraw with: gnuplot losses-42-cap-f.gp
set datafile separator whitespace
set terminal pngcairo noenhanced size 800,500 font 'DejaVu Sans,10'
set output 'losses-42-cap-f.png.tmp'
set title '42-cap-f (CAP-f): loss terms over the pruning steps'
set xlabel 'step'
set ylabel 'loss terms as logged'
set grid
set key outside right top
plot 'losses-42-cap-f.dat' using 1:2 with lines linewidth 3 linecolor rgb '#1f77b4' title 'loss', \
     'losses-42-cap-f.dat' using 1:3 with lines linewidth 1 linecolor rgb '#ff7f0e' title 'ce', \
     'losses-42-cap-f.dat' using 1:4 with lines linewidth 1 linecolor rgb '#2ca02c' title 'distill', \
     'losses-42-cap-f.dat' using 1:5 with lines linewidth 1 linecolor rgb '#d62728' title 'fic.supervised', \
     'losses-42-cap-f.dat' using 1:6 with lines linewidth 1 linecolor rgb '#9467bd' title 'fic.unsupervised', \
     'losses-42-cap-f.dat' using 1:7 with lines linewidth 1 linecolor rgb '#8c564b' title 'prc.supervised', \
     'losses-42-cap-f.dat' using 1:8 with lines linewidth 1 linecolor rgb '#e377c2' title 'prc.unsupervised', \
     'losses-42-cap-f.dat' using 1:9 with lines linewidth 1 linecolor rgb '#7f7f7f' title 'snc.supervised', \
     'losses-42-cap-f.dat' using 1:10 with lines linewidth 1 linecolor rgb '#bcbd22' title 'snc.unsupervised'
set terminal svg noenhanced size 800,500 font 'DejaVu Sans,10'
set output 'losses-42-cap-f.svg.tmp'
replot
set output
