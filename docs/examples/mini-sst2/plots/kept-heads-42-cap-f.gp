# kept-heads-42-cap-f: written by `cap report`; redraw with: gnuplot kept-heads-42-cap-f.gp
set datafile separator whitespace
set terminal pngcairo noenhanced size 640,350 font 'DejaVu Sans,10'
set output 'kept-heads-42-cap-f.png.tmp'
set title '42-cap-f: attention heads kept per layer after each stage'
set xlabel ''
set ylabel 'layer'
set cblabel 'heads kept'
set cbrange [0:2]
set palette defined (0 'white', 1 '#2166ac')
set xrange [-0.5:3.5]
set yrange [-0.5:1.5]
set xtics ('30%% pruned' 0, '50%% pruned' 1, '70%% pruned' 2, '90%% pruned' 3) rotate by -30
set ytics 1
unset key
plot 'kept-heads-42-cap-f.dat' using 1:2:3 with image, '' using 1:2:(sprintf('%.0f', $3)) with labels
set terminal svg noenhanced size 640,350 font 'DejaVu Sans,10'
set output 'kept-heads-42-cap-f.svg.tmp'
replot
set output
