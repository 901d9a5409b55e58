#include "report/table.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

#include "report/escape.hpp"

namespace cap::report {

namespace {

std::string fixed(double v, int decimals = 2) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
    return buf;
}

std::string as_written(double v) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.10g", v);
    return buf;
}

std::string signed_fixed(double v) {
    std::string s = fixed(v);
    if (s == "-0.00") s = "0.00";
    return v > 0 && s != "0.00" ? "+" + s : s;
}

std::string joined(const std::vector<std::string>& parts, const char* sep = "/") {
    std::string out;
    for (const auto& p : parts) out += (out.empty() ? "" : sep) + p;
    return out;
}

const Published* find_published(const Layout& l, const std::string& method, const std::string& task, double level) {
    for (const auto& p : l.published)
        if (p.method == method && p.task == task && (!p.level || std::fabs(*p.level - level) < 1e-9)) return &p;
    return nullptr;
}

bool has_metrics(const std::map<std::string, double>& m, const Column& c) {
    return std::all_of(c.metrics.begin(), c.metrics.end(), [&](const std::string& k) { return m.count(k) > 0; });
}

}  // namespace

std::string level_text(double level) { return as_written(level) + "%"; }

Table build_table(const Layout& layout, const std::vector<RunResult>& runs) {
    Table t;
    t.layout = &layout;
    std::set<std::pair<const RunResult*, const LevelResult*>> used;
    for (double level : layout.levels) {
        TableBlock block;
        block.level = level;
        for (const auto& row : layout.rows) {
            std::vector<TableCell> cells;
            for (const auto& col : layout.columns) {
                TableCell cell;
                cell.published = find_published(layout, row.method, col.task, level);
                std::vector<std::vector<double>> samples;
                for (const auto& run : runs) {
                    if (!run.finished || run.task != col.task) continue;
                    if (row.from_teacher) {
                        if (has_metrics(run.teacher, col) && samples.empty()) {
                            std::vector<double> v;
                            for (const auto& m : col.metrics) v.push_back(run.teacher.at(m));
                            samples.push_back(v);
                            cell.runs.push_back(&run);
                            cell.remaining.push_back(100);
                        }
                        continue;
                    }
                    if (run.method != row.method) continue;
                    for (const auto& lv : run.levels) {
                        const auto nearest = nearest_level(lv.remaining, layout.levels);
                        const bool exact = run.structured ? std::fabs(lv.remaining - level) < 0.01
                                                          : nearest && std::fabs(*nearest - level) < 1e-9;
                        if (!exact || !has_metrics(lv.metrics, col)) continue;
                        std::vector<double> v;
                        for (const auto& m : col.metrics) v.push_back(lv.metrics.at(m));
                        samples.push_back(v);
                        cell.runs.push_back(&run);
                        cell.remaining.push_back(lv.remaining);
                        used.insert({&run, &lv});
                    }
                }
                cell.samples = samples;
                if (!samples.empty()) {
                    cell.ours.assign(col.metrics.size(), 0.0);
                    for (const auto& s : samples)
                        for (size_t i = 0; i < s.size(); ++i) cell.ours[i] += s[i] / double(samples.size());
                }
                if (samples.size() > 1) {  // n - 1: the runs are a sample of seeds
                    cell.stddev.assign(col.metrics.size(), 0.0);
                    for (const auto& s : samples)
                        for (size_t i = 0; i < s.size(); ++i) cell.stddev[i] += std::pow(s[i] - cell.ours[i], 2);
                    for (auto& v : cell.stddev) v = std::sqrt(v / double(samples.size() - 1));
                }
                cells.push_back(std::move(cell));
            }
            block.cells.push_back(std::move(cells));
        }
        t.blocks.push_back(std::move(block));
    }
    for (const auto& run : runs) {
        for (const auto& lv : run.levels)
            if (!used.count({&run, &lv})) t.elsewhere.push_back({&run, &lv});
        if (!run.constraint_notes.empty()) t.below_constraints.push_back(&run);
    }
    return t;
}

std::string to_markdown(const Table& t) {
    const Layout& l = *t.layout;
    const bool with_published = l.published_columns;
    std::ostringstream o;
    o << "# " << (l.title.empty() ? "Results" : l.title) << "\n\n";
    if (!l.note.empty()) o << l.note << "\n\n";
    o << "Scores in %; several runs of a cell (seeds) show mean ± sample standard deviation (n runs); "
         "\"missing\": no finished run for the cell";
    if (with_published) o << "; \"unknown\": no published number known (never filled in); Δ = ours - published";
    o << ".\n";
    for (const auto& block : t.blocks) {
        o << "\n## " << level_text(block.level) << " remaining weights";
        if (block.level < 100) o << " (" << as_written(100 - block.level) << "% sparsity)";
        o << "\n\n| Method |";
        for (const auto& c : l.columns) o << " " << md(c.header) << " |" << (with_published ? " published | Δ |" : "");
        o << "\n| --- |";
        for (size_t i = 0; i < l.columns.size(); ++i) o << " --- |" << (with_published ? " --- | --- |" : "");
        o << "\n";
        std::vector<std::string> notes;
        for (size_t r = 0; r < l.rows.size(); ++r) {
            o << "| " << md(l.rows[r].method) << (l.rows[r].from_teacher ? " (teacher, dense)" : "") << " |";
            for (size_t c = 0; c < l.columns.size(); ++c) {
                const auto& cell = block.cells[r][c];
                std::vector<std::string> ours, pub, delta;
                for (double v : cell.ours) ours.push_back(fixed(v));
                if (cell.published)
                    for (double v : cell.published->values) pub.push_back(as_written(v));
                if (cell.published && !cell.ours.empty())
                    for (size_t i = 0; i < cell.ours.size(); ++i)
                        delta.push_back(signed_fixed(cell.ours[i] - cell.published->values[i]));
                std::string shown = ours.empty() ? "missing" : joined(ours);
                if (!cell.stddev.empty()) {
                    std::vector<std::string> spread;
                    for (double v : cell.stddev) spread.push_back(fixed(v));
                    shown += " ± " + joined(spread) + " (n = " + std::to_string(cell.runs.size()) + ")";
                }
                o << " " << shown << " |";
                if (with_published)
                    o << " " << (pub.empty() ? "unknown" : joined(pub)) << " | " << joined(delta) << " |";
                for (size_t i = 0; i < cell.runs.size(); ++i)
                    if (!l.rows[r].from_teacher)
                        notes.push_back("`" + cell.runs[i]->name + "` (" + fixed(cell.remaining[i]) + "% remaining)");
            }
            o << "\n";
        }
        if (!notes.empty()) o << "\nRuns: " << joined(notes, ", ") << ".\n";
    }
    if (!t.elsewhere.empty()) {
        o << "\n## Results outside the table\n\nNo cell took these: another level, or a method, task or metric "
             "the layout does not name:\n\n";
        for (const auto& [run, lv] : t.elsewhere) {
            std::vector<std::string> m;
            for (const auto& [k, v] : lv->metrics) m.push_back(k + " " + fixed(v));
            o << "- `" << run->name << "` (" << run->method << ", " << run->task << ", " << lv->stage
              << "): " << fixed(lv->remaining) << "% remaining, " << joined(m, ", ") << "\n";
        }
    }
    if (!t.below_constraints.empty()) {
        o << "\n## Constraints not kept\n\nThese runs went on with a layer below `[constraints] "
             "min_heads_per_layer`, as the reference does (`on_violation = \"warn\"`); their later stages count "
             "such layers as they are:\n\n";
        for (const RunResult* run : t.below_constraints)
            o << "- `" << run->name << "` (" << run->method << "): " << joined(run->constraint_notes, "; ") << "\n";
    }
    if (!l.published.empty()) {
        o << "\n## Sources of the published numbers\n\n";
        for (const auto& p : l.published)
            o << "- " << p.method << ", " << p.task << ", "
              << (p.level ? level_text(*p.level) : std::string("every level")) << ": " << p.source << "\n";
    }
    return o.str();
}

std::string to_csv(const Table& t) {
    const Layout& l = *t.layout;
    std::ostringstream o;
    o << "level,method,task,metric,ours,published,delta,status,runs,remaining_weights,source,std,n\n";
    for (const auto& block : t.blocks)
        for (size_t r = 0; r < l.rows.size(); ++r)
            for (size_t c = 0; c < l.columns.size(); ++c) {
                const auto& cell = block.cells[r][c];
                std::vector<std::string> names, remaining;
                for (size_t i = 0; i < cell.runs.size(); ++i) {
                    names.push_back(cell.runs[i]->name);
                    remaining.push_back(fixed(cell.remaining[i], 4));
                }
                for (size_t m = 0; m < l.columns[c].metrics.size(); ++m) {
                    const bool have = !cell.ours.empty();
                    o << as_written(block.level) << "," << csv_field(l.rows[r].method) << ","
                      << csv_field(l.columns[c].task) << "," << csv_field(l.columns[c].metrics[m]) << ","
                      << (have ? fixed(cell.ours[m], 4) : "") << ","
                      << (cell.published ? as_written(cell.published->values[m]) : "") << ","
                      << (have && cell.published ? fixed(cell.ours[m] - cell.published->values[m], 4) : "") << ","
                      << (have ? "ok" : "missing") << "," << csv_field(joined(names, ";")) << ","
                      << joined(remaining, ";") << "," << csv_field(cell.published ? cell.published->source : "") << ","
                      << (cell.stddev.empty() ? "" : fixed(cell.stddev[m], 4)) << "," << cell.runs.size() << "\n";
                }
            }
    return o.str();
}

}  // namespace cap::report
