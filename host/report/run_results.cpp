#include "report/run_results.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

#include "hf/safetensors_format.hpp"
#include "util/error_text.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace cap::report {

namespace {

std::string read_text(const fs::path& file) {
    std::ifstream in(file);
    if (!in) throw std::runtime_error("cannot read " + file.string());
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

json read_json(const fs::path& file) {
    try {
        return json::parse(read_text(file));
    } catch (const json::exception& e) {
        throw std::runtime_error(file.string() + ": not valid JSON (" + util::error_text(e) + ")");
    }
}

// Keys of an event that describe it rather than measure the model.
const std::set<std::string> kNotMetrics = {"event",
                                           "stage",
                                           "step",
                                           "epoch",
                                           "target_sparsity",
                                           "heads_kept",
                                           "ffn_neurons_kept",
                                           "layers_below_min_heads",
                                           "seconds",
                                           "bank_bytes",
                                           "threshold",
                                           "remaining_weights",
                                           "masked_weights_kept",
                                           "masked_weights",
                                           "model",
                                           "parameters",
                                           "learning_rate",
                                           "examples_per_second"};

std::map<std::string, double> numbers(const json& event, const std::set<std::string>& skip) {
    std::map<std::string, double> out;
    for (auto it = event.begin(); it != event.end(); ++it)
        if (it.value().is_number() && !skip.count(it.key())) out[it.key()] = it.value().get<double>();
    return out;
}

void read_losses(const fs::path& file, RunResult& r) {
    std::ifstream in(file);
    std::string line;
    int64_t line_no = 0;
    while (std::getline(in, line)) {
        ++line_no;
        if (line.empty()) continue;
        json e = json::parse(line, nullptr, /*allow_exceptions=*/false);
        if (!e.is_object()) {  // a line cut short by a kill; the run's other lines still count
            ++r.unreadable_lines;
            continue;
        }
        const std::string event = e.value("event", "");
        if (event == "resume") r.losses.clear();  // pruning restarts after a resume
        if (event != "train" || e.value("stage", "") == "finetune") continue;
        LossPoint p;
        p.step = e.value("step", int64_t{0});
        p.terms = numbers(e, {"event", "stage", "step", "epoch", "learning_rate", "examples_per_second", "threshold",
                              "target_sparsity", "remaining_weights"});
        r.losses.push_back(std::move(p));
    }
}

void read_kept_units(const fs::path& file, const json& stages, RunResult& r) {
    const auto masks = hf::read_safetensors_bytes(file);
    for (size_t s = 0; s < stages.size(); ++s) {
        char prefix[32];
        std::snprintf(prefix, sizeof(prefix), "stage_%02zu.", s);
        KeptUnits k;
        k.target_sparsity = stages[s].value("target_sparsity", 0.0);
        for (const auto& e : masks.header.entries) {
            if (e.name.rfind(prefix, 0) != 0 || e.shape.size() != 2) continue;
            const auto values = hf::safetensors_floats(masks, e);
            const int64_t layers = e.shape[0], per_layer = e.shape[1];
            std::vector<int64_t> counts(static_cast<size_t>(layers), 0);
            for (int64_t l = 0; l < layers; ++l)
                for (int64_t u = 0; u < per_layer; ++u)
                    counts[l] += values[static_cast<size_t>(l * per_layer + u)] > 0.5f;
            const std::string kind = e.name.substr(std::string(prefix).size());
            if (kind == "heads") {
                k.heads = counts;
                k.heads_per_layer = per_layer;
            } else if (kind == "ffn") {
                k.ffn = counts;
                k.ffn_per_layer = per_layer;
            }
        }
        if (!k.heads.empty() || !k.ffn.empty()) r.kept.push_back(std::move(k));
    }
}

void read_constraint_notes(const json& stages, RunResult& r) {
    std::set<int64_t> seen;
    for (const auto& s : stages) {
        if (!s.contains("layers_below_min_heads")) continue;
        for (const auto& l : s["layers_below_min_heads"]) {
            const int64_t layer = l.at("layer").get<int64_t>();
            if (!seen.insert(layer).second) continue;
            r.constraint_notes.push_back(
                s.value("stage", std::string("a stage")) + " left layer " + std::to_string(layer) + " with " +
                std::to_string(l.at("heads_kept").get<int64_t>()) +
                " heads (min_heads_per_layer = " + std::to_string(l.at("min_heads_per_layer").get<int64_t>()) + ")");
        }
    }
}

void read_matrices(const fs::path& file, RunResult& r) {
    std::ifstream in(file);
    std::string line;
    std::getline(in, line);  // header: layer,matrix,kept,total,remaining_percent
    while (std::getline(in, line)) {
        std::vector<std::string> cells;
        std::stringstream s(line);
        for (std::string c; std::getline(s, c, ',');) cells.push_back(c);
        if (cells.size() != 5 || cells[0] == "all" || cells[1] == "all") continue;
        try {
            r.matrices.push_back({std::stoll(cells[0]), cells[1], std::stod(cells[4])});
        } catch (const std::exception&) {
            throw std::runtime_error(file.string() + ": unreadable row '" + line + "'");
        }
    }
}

}  // namespace

std::string derived_method(const std::string& criterion, const std::vector<std::string>& contrastive, bool distill) {
    std::string out = criterion.empty() ? "fine-tune" : criterion;
    for (const auto& c : contrastive) out += "+" + c;
    if (distill) out += "+kd";
    return out;
}

namespace {

RunResult read_run_files(const fs::path& dir, const char*& reading) {
    RunResult r;
    r.dir = dir;
    reading = "manifest.json";
    const json manifest = read_json(dir / "manifest.json");
    const json& resolved = manifest.at("resolved");
    r.name = resolved.at("run").value("name", dir.filename().string());
    r.method = resolved.at("run").value("method", "");
    if (resolved["run"].contains("seed") && resolved["run"]["seed"].is_number_integer())
        r.seed = resolved["run"]["seed"].get<int64_t>();
    if (r.method.empty()) {
        std::vector<std::string> ids;
        if (resolved.contains("contrastive"))
            for (auto it = resolved["contrastive"].begin(); it != resolved["contrastive"].end(); ++it)
                ids.push_back(it.key());
        std::sort(ids.begin(), ids.end(), [](const std::string& a, const std::string& b) {
            auto rank = [](const std::string& s) { return s == "prc" ? 0 : s == "snc" ? 1 : s == "fic" ? 2 : 3; };
            return rank(a) != rank(b) ? rank(a) < rank(b) : a < b;
        });
        const std::string criterion = resolved.contains("criterion") ? resolved["criterion"].value("plugin", "") : "";
        r.method = derived_method(criterion, ids, resolved.contains("distill"));
    }
    if (resolved.contains("task")) r.task = resolved["task"].value("name", "");

    if (fs::exists(dir / "metrics.jsonl")) read_losses(dir / "metrics.jsonl", r);
    if (!fs::exists(dir / "summary.json")) return r;
    r.finished = true;
    reading = "summary.json";
    const json summary = read_json(dir / "summary.json");
    r.main_metric = summary.value("main_metric", "");
    if (summary.contains("teacher") && summary["teacher"].contains("metrics"))
        r.teacher = numbers(summary["teacher"]["metrics"], {});
    if (summary.contains("stages")) {
        r.structured = true;
        for (const auto& s : summary["stages"])
            r.levels.push_back(
                {100.0 * (1.0 - s.value("target_sparsity", 0.0)), s.value("stage", ""), numbers(s, kNotMetrics)});
        if (fs::exists(dir / "masks.safetensors")) read_kept_units(dir / "masks.safetensors", summary["stages"], r);
        read_constraint_notes(summary["stages"], r);
    } else if (summary.contains("final") && summary["final"].contains("remaining_weights") &&
               summary["final"]["remaining_weights"].is_number()) {
        const json& f = summary["final"];
        r.levels.push_back({f["remaining_weights"].get<double>(), "final", numbers(f, kNotMetrics)});
        if (fs::exists(dir / "remaining_weights.csv")) read_matrices(dir / "remaining_weights.csv", r);
    }
    return r;
}

}  // namespace

RunCompletionStatus run_completion(const fs::path& dir) {
    std::error_code ec;
    if (!fs::exists(dir / "summary.json", ec)) return {RunCompletion::Unfinished, ""};
    for (const char* name : {"manifest.json", "summary.json"}) {
        const fs::path file = dir / name;
        if (!fs::exists(file, ec)) return {RunCompletion::Damaged, file.string() + " is missing beside summary.json"};
        std::string problem;
        try {
            if (!read_json(file).is_object()) problem = file.string() + ": not a JSON object";
        } catch (const std::exception& e) {
            problem = e.what();
        }
        if (!problem.empty()) return {RunCompletion::Damaged, problem};
    }
    return {RunCompletion::Finished, ""};
}

RunResult read_run(const fs::path& dir) {
    const char* reading = "manifest.json";
    try {
        return read_run_files(dir, reading);
    } catch (const json::exception& e) {  // a well-formed file of the wrong shape
        throw std::runtime_error((dir / reading).string() + ": not what cap writes (" + util::error_text(e) + ")");
    }
}

std::vector<fs::path> find_run_dirs(const fs::path& path) {
    std::error_code ec;
    if (!fs::is_directory(path, ec)) throw std::runtime_error(path.string() + ": no such folder");
    if (fs::exists(path / "manifest.json")) return {path};
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(path))
        if (e.is_directory() && fs::exists(e.path() / "manifest.json")) out.push_back(e.path());
    std::sort(out.begin(), out.end());
    if (out.empty() && !fs::exists(path / "sweep.json"))
        throw std::runtime_error(path.string() + ": neither a run folder (no manifest.json) nor a folder of runs");
    return out;
}

}  // namespace cap::report
