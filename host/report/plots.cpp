#include "report/plots.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "report/table.hpp"
#include "util/atomic_file.hpp"
#include "util/shell_quote.hpp"

namespace fs = std::filesystem;

namespace cap::report {

namespace {

// gnuplot single-quoted strings: a quote is written twice.
std::string gq(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
    return out + "'";
}

std::string num(double v) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.10g", v);
    return buf;
}

std::string safe_name(const std::string& s) {
    std::string out;
    for (char c : s) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '_';
    return out;
}

std::string gnuplot_program() {
    if (const char* env = std::getenv("CAP_GNUPLOT"); env && *env) return env;
    return "gnuplot";
}

bool have_gnuplot() {
    const std::string cmd = "command -v " + util::shell_quote(gnuplot_program()) + " >/dev/null 2>&1";
    return std::system(cmd.c_str()) == 0;
}

struct Plot {
    std::string name;  // file stem
    std::string body;  // gnuplot commands after the terminal is set (the plot itself)
    std::string data;  // NAME.dat
    int width = 800, height = 500;
};

// Draws `plot` twice (PNG and SVG) into temporaries, then renames them into place.
void draw(const Plot& plot, const fs::path& dir, bool gnuplot, PlotOutcome& out) {
    util::write_file_atomic(dir / (plot.name + ".dat"), plot.data);
    std::ostringstream gp;
    gp << "# " << plot.name << ": written by `cap report`; redraw with: gnuplot " << plot.name << ".gp\n";
    gp << "set datafile separator whitespace\n";
    gp << "set terminal pngcairo noenhanced size " << plot.width << "," << plot.height << " font 'DejaVu Sans,10'\n";
    gp << "set output " << gq(plot.name + ".png.tmp") << "\n" << plot.body << "\n";
    gp << "set terminal svg noenhanced size " << plot.width << "," << plot.height << " font 'DejaVu Sans,10'\n";
    gp << "set output " << gq(plot.name + ".svg.tmp") << "\nreplot\nset output\n";
    util::write_file_atomic(dir / (plot.name + ".gp"), gp.str());
    if (!gnuplot) return;
    const std::string cmd = "cd " + util::shell_quote(dir.string()) + " && " + util::shell_quote(gnuplot_program()) +
                            " " + util::shell_quote(plot.name + ".gp") + " > " + util::shell_quote(plot.name + ".log") +
                            " 2>&1";
    const int rc = std::system(cmd.c_str());
    std::error_code ec;
    for (const char* ext : {".png", ".svg"}) {
        const fs::path tmp = dir / (plot.name + ext + ".tmp");
        if (rc == 0 && fs::exists(tmp, ec)) {
            fs::rename(tmp, dir / (plot.name + ext), ec);
            if (!ec) out.files.push_back(dir / (plot.name + ext));
        } else {
            fs::remove(tmp, ec);
        }
    }
    if (rc != 0)
        out.warnings.push_back("gnuplot failed on " + (dir / (plot.name + ".gp")).string() + " (see " + plot.name +
                               ".log)");
    else
        fs::remove(dir / (plot.name + ".log"), ec);
}

std::string metric_for(const Layout& layout, const std::vector<RunResult>& runs, const std::string& task) {
    for (const auto& c : layout.columns)
        if (c.task == task && !c.metrics.empty()) return c.metrics[0];
    for (const auto& r : runs)
        if (r.task == task && !r.main_metric.empty()) return r.main_metric;
    return "";
}

// One series per method: its finished runs' levels, sorted by remaining weights; runs at the same
// level (seeds) are one point, their mean, with the sample standard deviation as an error bar.
void metric_plots(const std::vector<RunResult>& runs, const Layout& layout, const fs::path& dir, bool gnuplot,
                  PlotOutcome& out) {
    std::vector<std::string> tasks;
    for (const auto& r : runs)
        if (r.finished && std::find(tasks.begin(), tasks.end(), r.task) == tasks.end()) tasks.push_back(r.task);
    for (const auto& task : tasks) {
        const std::string metric = metric_for(layout, runs, task);
        std::vector<std::string> methods;
        for (const auto& row : layout.rows)
            if (!row.from_teacher) methods.push_back(row.method);
        for (const auto& r : runs)
            if (r.finished && r.task == task && std::find(methods.begin(), methods.end(), r.method) == methods.end())
                methods.push_back(r.method);
        Plot p;
        p.name = "metric-" + safe_name(task);
        std::ostringstream data, body;
        std::vector<std::string> clauses;
        int index = 0;
        double sparsest = 100;
        for (const auto& method : methods) {
            std::vector<std::pair<double, double>> points;
            for (const auto& r : runs)
                if (r.finished && r.task == task && r.method == method)
                    for (const auto& lv : r.levels)
                        if (lv.metrics.count(metric)) points.push_back({lv.remaining, lv.metrics.at(metric)});
            if (points.empty()) continue;
            std::sort(points.begin(), points.end());
            sparsest = std::min(sparsest, points.front().first);
            data << "# " << method << ": remaining, mean, sample std, runs\n";
            for (size_t i = 0; i < points.size();) {
                size_t j = i;
                double sum = 0;
                while (j < points.size() && std::fabs(points[j].first - points[i].first) < 0.005)
                    sum += points[j++].second;
                const double n = double(j - i), mean = sum / n;
                double sq = 0;
                for (size_t k = i; k < j; ++k) sq += (points[k].second - mean) * (points[k].second - mean);
                data << num(points[i].first) << " " << num(mean) << " " << num(n > 1 ? std::sqrt(sq / (n - 1)) : 0.0)
                     << " " << (j - i) << "\n";
                i = j;
            }
            data << "\n\n";
            clauses.push_back(gq(p.name + ".dat") + " index " + std::to_string(index++) +
                              " using 1:2:3 with yerrorlines pointtype 7 linewidth 2 title " + gq(method));
        }
        if (clauses.empty()) continue;
        for (const auto& r : runs)
            if (r.finished && r.task == task && r.teacher.count(metric)) {
                clauses.push_back(num(r.teacher.at(metric)) + " with lines dashtype 2 linecolor rgb 'gray40' title " +
                                  gq("teacher (dense)"));
                break;
            }
        body << "set title " << gq(task + ": " + metric + " against remaining weights") << "\n";
        body << "set xlabel 'remaining weights (%), log scale; sparser to the right'\nset ylabel " << gq(metric)
             << "\n";
        // Dense on the left, sparser to the right: the range is written high to low.
        body << "set logscale x\nset xrange [100:" << num(sparsest / 1.5) << "]\n";
        body << "set xtics ("
             << "'100' 100, '50' 50, '30' 30, '20' 20, '10' 10, '5' 5, '3' 3, '2' 2, '1' 1, '0.5' 0.5)\n";
        body << "set grid\nset key outside right top\n";
        body << "plot ";
        for (size_t i = 0; i < clauses.size(); ++i) body << (i ? ", \\\n     " : "") << clauses[i];
        p.data = data.str();
        p.body = body.str();
        draw(p, dir, gnuplot, out);
    }
}

void loss_plot(const RunResult& r, const fs::path& dir, bool gnuplot, PlotOutcome& out) {
    std::vector<std::string> terms;
    for (const auto& point : r.losses)
        for (const auto& [k, _] : point.terms)
            if (std::find(terms.begin(), terms.end(), k) == terms.end()) terms.push_back(k);
    if (terms.empty()) return;
    std::stable_partition(terms.begin(), terms.end(), [](const std::string& t) { return t == "loss"; });
    Plot p;
    p.name = "losses-" + safe_name(r.name);
    std::ostringstream data, body;
    data << "# step";
    for (const auto& t : terms) data << " " << t;
    data << "\n";
    for (const auto& point : r.losses) {
        data << point.step;
        for (const auto& t : terms) data << " " << (point.terms.count(t) ? num(point.terms.at(t)) : "NaN");
        data << "\n";
    }
    body << "set title " << gq(r.name + " (" + r.method + "): loss terms over the pruning steps") << "\n";
    body << "set xlabel 'step'\nset ylabel 'loss terms as logged'\nset grid\nset key outside right top\nplot ";
    // Ten distinct colours (gnuplot's default cycle has eight; a CAP-f run logs ten terms).
    static const char* kColours[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                     "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
    for (size_t i = 0; i < terms.size(); ++i)
        body << (i ? ", \\\n     " : "") << gq(p.name + ".dat") << " using 1:" << (i + 2) << " with lines linewidth "
             << (terms[i] == "loss" ? 3 : 1) << " linecolor rgb " << gq(kColours[i % 10])
             << (i >= 10 ? " dashtype 2" : "") << " title " << gq(terms[i]);
    p.data = data.str();
    p.body = body.str();
    draw(p, dir, gnuplot, out);
}

// A layers x columns heat map with the value printed in each cell.
Plot heat_map(const std::string& name, const std::string& title, const std::vector<std::string>& column_labels,
              const std::vector<std::vector<double>>& values /*[layer][column]*/, double max, const std::string& unit,
              const std::string& cell_format) {
    Plot p;
    p.name = name;
    std::ostringstream data, body;
    data << "# column layer value\n";
    for (size_t l = 0; l < values.size(); ++l) {
        for (size_t c = 0; c < values[l].size(); ++c) data << c << " " << l << " " << num(values[l][c]) << "\n";
        data << "\n";
    }
    body << "set title " << gq(title) << "\n";
    body << "set xlabel ''\nset ylabel 'layer'\nset cblabel " << gq(unit) << "\n";
    body << "set cbrange [0:" << num(max) << "]\nset palette defined (0 'white', 1 '#2166ac')\n";
    body << "set xrange [-0.5:" << num(double(column_labels.size()) - 0.5)
         << "]\nset yrange [-0.5:" << num(double(values.size()) - 0.5) << "]\n";
    body << "set xtics (";
    for (size_t c = 0; c < column_labels.size(); ++c) {
        std::string label;  // tic labels are printf formats: a literal % is written %%
        for (char ch : column_labels[c]) label += ch == '%' ? std::string("%%") : std::string(1, ch);
        body << (c ? ", " : "") << gq(label) << " " << c;
    }
    body << ") rotate by -30\nset ytics 1\nunset key\n";
    body << "plot " << gq(name + ".dat") << " using 1:2:3 with image, '' using 1:2:(sprintf(" << gq(cell_format)
         << ", $3)) with labels";
    p.data = data.str();
    p.body = body.str();
    p.width = std::max(500, 110 * int(column_labels.size()) + 200);
    p.height = std::max(350, 40 * int(values.size()) + 200);
    return p;
}

void kept_plots(const RunResult& r, const fs::path& dir, bool gnuplot, PlotOutcome& out) {
    if (r.kept.empty()) return;
    std::vector<std::string> stages;
    for (const auto& k : r.kept) stages.push_back(num(100 * k.target_sparsity) + "% pruned");
    const size_t layers = std::max(r.kept[0].heads.size(), r.kept[0].ffn.size());
    std::vector<std::vector<double>> heads(layers), ffn(layers);
    for (size_t l = 0; l < layers; ++l)
        for (const auto& k : r.kept) {
            heads[l].push_back(l < k.heads.size() ? double(k.heads[l]) : 0.0);
            ffn[l].push_back(l < k.ffn.size() ? double(k.ffn[l]) : 0.0);
        }
    draw(heat_map("kept-heads-" + safe_name(r.name), r.name + ": attention heads kept per layer after each stage",
                  stages, heads, double(r.kept[0].heads_per_layer), "heads kept", "%.0f"),
         dir, gnuplot, out);
    draw(heat_map("kept-ffn-" + safe_name(r.name), r.name + ": FFN neurons kept per layer after each stage", stages,
                  ffn, double(r.kept[0].ffn_per_layer), "neurons kept", "%.0f"),
         dir, gnuplot, out);
}

void remaining_plot(const RunResult& r, const fs::path& dir, bool gnuplot, PlotOutcome& out) {
    if (r.matrices.empty()) return;
    std::vector<std::string> matrices;
    int64_t layers = 0;
    for (const auto& m : r.matrices) {
        if (std::find(matrices.begin(), matrices.end(), m.matrix) == matrices.end()) matrices.push_back(m.matrix);
        layers = std::max(layers, m.layer + 1);
    }
    std::vector<std::vector<double>> values(size_t(layers), std::vector<double>(matrices.size(), 0.0));
    double max = 0;
    for (const auto& m : r.matrices) {
        const auto c = size_t(std::find(matrices.begin(), matrices.end(), m.matrix) - matrices.begin());
        values[size_t(m.layer)][c] = m.percent;
        max = std::max(max, m.percent);
    }
    draw(heat_map("remaining-" + safe_name(r.name), r.name + ": remaining weights per matrix (%)", matrices, values,
                  max > 0 ? max : 100.0, "% remaining", "%.1f"),
         dir, gnuplot, out);
}

}  // namespace

PlotOutcome write_plots(const std::vector<RunResult>& runs_in, const Layout& layout, const fs::path& dir) {
    PlotOutcome out;
    // Plots are named after runs; two sweeps reported together may share run names.
    std::vector<RunResult> runs = runs_in;
    std::map<std::string, int> seen;
    for (auto& r : runs)
        if (int n = ++seen[r.name]; n > 1) r.name += "-" + std::to_string(n);
    fs::create_directories(dir);
    const bool gnuplot = have_gnuplot();
    if (!gnuplot)
        out.warnings.push_back("gnuplot not found (" + gnuplot_program() + "): the plots' data and scripts are in " +
                               dir.string() + " but no image was drawn; install gnuplot-nox");
    metric_plots(runs, layout, dir, gnuplot, out);
    for (const auto& r : runs) {
        if (!r.finished) continue;
        loss_plot(r, dir, gnuplot, out);
        kept_plots(r, dir, gnuplot, out);
        remaining_plot(r, dir, gnuplot, out);
    }
    return out;
}

}  // namespace cap::report
