#include "report/pairs.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "report/escape.hpp"

namespace cap::report {

namespace {

std::string fixed(double v, bool sign = false) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), sign ? "%+.2f" : "%.2f", v);
    std::string s = buf;
    return s == "-0.00" || s == "+0.00" ? "0.00" : s;
}

std::string level_name(double level) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.10g%%", level);
    return buf;
}

size_t row_of(const Layout& l, const std::string& method) {
    for (size_t r = 0; r < l.rows.size(); ++r)
        if (l.rows[r].method == method) return r;
    return l.rows.size();
}

// A cell's runs by seed; a seed that appears twice cannot be paired and goes to `ambiguous`.
std::map<int64_t, size_t> by_seed(const TableCell& cell, std::vector<std::string>& ambiguous) {
    std::map<int64_t, size_t> out;
    std::map<int64_t, int> count;
    for (const auto* run : cell.runs) ++count[run->seed];
    for (size_t i = 0; i < cell.runs.size(); ++i) {
        if (count[cell.runs[i]->seed] > 1)
            ambiguous.push_back(cell.runs[i]->name + " (seed " + std::to_string(cell.runs[i]->seed) + " twice)");
        else
            out[cell.runs[i]->seed] = i;
    }
    return out;
}

std::string seeds_text(const std::vector<int64_t>& seeds) {
    std::string out;
    for (auto s : seeds) out += (out.empty() ? "" : ", ") + std::to_string(s);
    return out;
}

}  // namespace

double student_t_975(int64_t dof) {
    static const double table[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                                   2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                                   2.080,  2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
    if (dof < 1) return NAN;
    if (dof <= 30) return table[dof - 1];
    // Beyond the table, the Cornish-Fisher expansion around the normal quantile (error < 1e-3).
    const double z = 1.959964, n = double(dof);
    return z + (z * z * z + z) / (4 * n) + (5 * std::pow(z, 5) + 16 * z * z * z + 3 * z) / (96 * n * n);
}

std::vector<PairedDifference> paired_differences(const Table& table) {
    const Layout& l = *table.layout;
    std::vector<PairedDifference> out;
    for (const auto& pair : l.pairs) {
        const size_t rm = row_of(l, pair.method), rb = row_of(l, pair.baseline);
        if (rm == l.rows.size() || rb == l.rows.size()) continue;  // load_layout refuses these
        for (const auto& block : table.blocks)
            for (size_t c = 0; c < l.columns.size(); ++c) {
                const TableCell& m = block.cells[rm][c];
                const TableCell& b = block.cells[rb][c];
                std::vector<std::string> unpaired;
                const auto ms = by_seed(m, unpaired), bs = by_seed(b, unpaired);
                std::vector<std::pair<size_t, size_t>> matched;
                std::vector<int64_t> seeds;
                for (const auto& [seed, i] : ms) {
                    auto j = bs.find(seed);
                    if (j == bs.end()) {
                        unpaired.push_back(m.runs[i]->name + " (no " + pair.baseline + " run with seed " +
                                           std::to_string(seed) + ")");
                        continue;
                    }
                    matched.push_back({i, j->second});
                    seeds.push_back(seed);
                }
                for (const auto& [seed, j] : bs)
                    if (!ms.count(seed))
                        unpaired.push_back(b.runs[j]->name + " (no " + pair.method + " run with seed " +
                                           std::to_string(seed) + ")");
                if (matched.empty() && unpaired.empty()) continue;
                for (size_t k = 0; k < l.columns[c].metrics.size(); ++k) {
                    PairedDifference d;
                    d.pair = &pair;
                    d.level = block.level;
                    d.column = c;
                    d.metric = k;
                    d.seeds = seeds;
                    d.unpaired = unpaired;
                    for (const auto& [i, j] : matched) d.diffs.push_back(m.samples[i][k] - b.samples[j][k]);
                    const auto n = static_cast<int64_t>(d.diffs.size());
                    if (n > 0) {
                        for (double x : d.diffs) d.mean += x / double(n);
                    }
                    if (n > 1) {
                        double ss = 0;
                        for (double x : d.diffs) ss += (x - d.mean) * (x - d.mean);
                        d.stddev = std::sqrt(ss / double(n - 1));
                        const double half = student_t_975(n - 1) * d.stddev / std::sqrt(double(n));
                        d.low = d.mean - half;
                        d.high = d.mean + half;
                        d.has_interval = true;
                        d.excludes_zero = d.low > 0 || d.high < 0;
                    }
                    out.push_back(std::move(d));
                }
            }
    }
    return out;
}

std::string pairs_markdown(const Table& table, const std::vector<PairedDifference>& diffs) {
    const Layout& l = *table.layout;
    if (l.pairs.empty()) return "";
    std::ostringstream o;
    o << "\n## Paired differences\n\nEach method against its baseline, run for run with the same seed (same data "
         "and budget): the mean of method − baseline over the seeds both ran, its sample standard deviation, and a "
         "95% interval for the mean (Student's t, n − 1 degrees of freedom). **Bold**: the interval excludes 0, a "
         "difference beyond the seeds' spread. n = 1 gives no interval.\n\n"
         "| Pair | Remaining | Metric | Δ mean ± sd | 95% interval | n | Seeds |\n"
         "| --- | --- | --- | --- | --- | --- | --- |\n";
    std::vector<std::string> unpaired;
    for (const auto& d : diffs) {
        const auto& col = l.columns[d.column];
        const std::string label = md(d.pair->method) + " − " + md(d.pair->baseline);
        o << "| " << label << " | " << level_name(d.level) << " | " << md(col.task + " " + col.metrics[d.metric])
          << " | ";
        if (d.diffs.empty())
            o << "no pair | | 0 | |\n";
        else {
            const std::string mean = fixed(d.mean, true) + (d.has_interval ? " ± " + fixed(d.stddev) : "");
            const std::string interval =
                d.has_interval ? "[" + fixed(d.low, true) + ", " + fixed(d.high, true) + "]" : "none";
            if (d.excludes_zero)
                o << "**" << mean << "** | **" << interval << "**";
            else
                o << mean << " | " << interval;
            o << " | " << d.diffs.size() << " | " << seeds_text(d.seeds) << " |\n";
        }
        if (d.metric == 0)
            for (const auto& u : d.unpaired) unpaired.push_back(u + ", at " + level_name(d.level));
    }
    if (!unpaired.empty()) {
        o << "\nNot paired (no run with the same seed on the other side):\n\n";
        for (const auto& u : unpaired) o << "- " << md(u) << "\n";
    }
    return o.str();
}

std::string pairs_csv(const Table& table, const std::vector<PairedDifference>& diffs) {
    const Layout& l = *table.layout;
    std::ostringstream o;
    o << "level,method,baseline,task,metric,n,mean_difference,std,ci95_low,ci95_high,excludes_zero,seeds,"
         "differences\n";
    for (const auto& d : diffs) {
        const auto& col = l.columns[d.column];
        std::string values;
        for (double x : d.diffs) {
            char buf[64];
            std::snprintf(buf, sizeof(buf), "%.4f", x);
            values += (values.empty() ? "" : ";") + std::string(buf);
        }
        char nums[256] = "";
        if (d.has_interval)
            std::snprintf(nums, sizeof(nums), "%.4f,%.4f,%.4f,%.4f", d.mean, d.stddev, d.low, d.high);
        else if (!d.diffs.empty())
            std::snprintf(nums, sizeof(nums), "%.4f,,,", d.mean);
        else
            std::snprintf(nums, sizeof(nums), ",,,");
        std::string seeds;
        for (auto s : d.seeds) seeds += (seeds.empty() ? "" : ";") + std::to_string(s);
        char level[64];
        std::snprintf(level, sizeof(level), "%.10g", d.level);
        o << level << "," << csv_field(d.pair->method) << "," << csv_field(d.pair->baseline) << ","
          << csv_field(col.task) << "," << csv_field(col.metrics[d.metric]) << "," << d.diffs.size() << "," << nums
          << "," << (d.has_interval ? (d.excludes_zero ? "true" : "false") : "") << "," << seeds << "," << values
          << "\n";
    }
    return o.str();
}

}  // namespace cap::report
