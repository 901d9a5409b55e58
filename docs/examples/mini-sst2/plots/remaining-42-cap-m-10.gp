# remaining-42-cap-m-10: written by `cap report`; redraw with: gnuplot remaining-42-cap-m-10.gp
set datafile separator whitespace
set terminal pngcairo noenhanced size 860,350 font 'DejaVu Sans,10'
set output 'remaining-42-cap-m-10.png.tmp'
set title '42-cap-m-10: remaining weights per matrix (%)'
set xlabel ''
set ylabel 'layer'
set cblabel '% remaining'
set cbrange [0:9.9991]
set palette defined (0 'white', 1 '#2166ac')
set xrange [-0.5:5.5]
set yrange [-0.5:1.5]
set xtics ('attention.self.query' 0, 'attention.self.key' 1, 'attention.self.value' 2, 'attention.output.dense' 3, 'intermediate.dense' 4, 'output.dense' 5) rotate by -30
set ytics 1
unset key
plot 'remaining-42-cap-m-10.dat' using 1:2:3 with image, '' using 1:2:(sprintf('%.1f', $3)) with labels
set terminal svg noenhanced size 860,350 font 'DejaVu Sans,10'
set output 'remaining-42-cap-m-10.svg.tmp'
replot
set output
