#include "sweep/slurm_script.hpp"

#include <sstream>

#include "util/sha256.hpp"
#include "util/shell_quote.hpp"

namespace cap::sweep {

using util::shell_quote;

namespace {

// What a cell's [backend] plugin is ("auto" when it names none).
std::string backend_of(const Cell& cell) {
    if (const recipe::Node* backend = cell.recipe.root.find("backend"))
        if (const recipe::Node* plugin = backend->find("plugin"); plugin && plugin->type == recipe::Node::Type::String)
            return plugin->string;
    return "auto";
}

// The GPU request: as [sweep.slurm] gres says, else one GPU unless every run is on the CPU.
std::string gres_for(const Expansion& sweep) {
    if (sweep.spec.slurm.gres) return *sweep.spec.slurm.gres;
    for (const auto& cell : sweep.cells)
        if (backend_of(cell) != "cpu") return "gpu:1";
    return "";
}

}  // namespace

std::string recipe_fingerprint(const std::string& resolved_toml) {
    return util::sha256_text(resolved_toml).substr(0, 16);
}

std::string slurm_script(const Expansion& sweep, const SlurmRequest& request) {
    const auto& s = sweep.spec.slurm;
    std::ostringstream o;
    o << "#!/bin/bash\n";
    o << "# Slurm job array for the sweep '" << sweep.spec.name << "' (" << sweep.cells.size()
      << " runs), written by\n";
    o << "# `cap sweep --emit slurm`. Submit with: sbatch " << (request.out_dir / "sweep.sbatch").string() << "\n";
    o << "# Every array task runs one cell; a finished cell is skipped and a killed one resumes, so a\n";
    o << "# requeued task (preemption, scontrol requeue) picks up where it was; its log is appended to.\n";
    o << "#SBATCH --job-name=" << sweep.spec.name << "\n";
    o << "#SBATCH --array=0-" << (sweep.cells.empty() ? 0 : sweep.cells.size() - 1);
    if (s.max_parallel > 0) o << "%" << s.max_parallel;
    o << "\n";
    o << "#SBATCH --output=" << (request.out_dir / "slurm" / "%A_%a.out").string() << "\n";
    if (!s.partition.empty()) o << "#SBATCH --partition=" << s.partition << "\n";
    if (!s.account.empty()) o << "#SBATCH --account=" << s.account << "\n";
    if (const std::string gres = gres_for(sweep); !gres.empty()) o << "#SBATCH --gres=" << gres << "\n";
    o << "#SBATCH --cpus-per-task=" << s.cpus_per_task << "\n";
    o << "#SBATCH --mem=" << s.mem << "\n";
    o << "#SBATCH --time=" << s.time << "\n";
    // USR1 to the batch shell before the time limit; the shell passes it on to cap, which ends
    // its current step, checkpoints and exits 75, and the task requeues itself (below).
    if (s.stop_signal_seconds > 0) o << "#SBATCH --signal=B:USR1@" << s.stop_signal_seconds << "\n";
    o << "#SBATCH --requeue\n";
    o << "#SBATCH --open-mode=append\n";
    for (const auto& extra : s.sbatch) o << "#SBATCH " << extra << "\n";
    // Set-up first: environment-module scripts read unset variables, which `set -u` would stop.
    o << "\n";
    for (const auto& line : s.setup) o << line << "\n";
    o << "set -euo pipefail\n";
    // Fixed here, at emit time: a task runs the cell it was emitted for, by name, and cap refuses
    // it when that cell's recipe is not the one emitted (the recipe file changed since).
    o << "\n# Array index -> run, and the fingerprint of the recipe each was emitted with:\n";
    o << "cells=(";
    for (const auto& [name, _] : request.cells) o << "\n    " << shell_quote(name);
    o << "\n)\nrecipes=(";
    for (const auto& [_, fingerprint] : request.cells) o << "\n    " << fingerprint;
    o << "\n)\n\n";
    if (!request.working_dir.empty()) o << "cd " << shell_quote(request.working_dir.string()) << "\n";
    // cap runs as a child, not exec'd: the shell must outlive it to forward the signal and to
    // requeue the task when cap stopped at a checkpoint (exit 75). Preemption's SIGTERM reaches
    // cap directly; Slurm requeues a preempted task itself.
    o << "set +e\n";
    o << shell_quote(request.cap_executable.string());
    for (const auto& p : request.plugin_paths) o << " --plugin-path " << shell_quote(p);
    o << " sweep " << shell_quote(request.recipe.string()) << " \\\n    --out "
      << shell_quote(request.out_dir.string());
    for (const auto& u : request.overrides.unsets) o << " \\\n    --unset " << shell_quote(u);
    for (const auto& set : request.overrides.sets) o << " \\\n    --set " << shell_quote(set);
    o << " \\\n    --cell \"${cells[$SLURM_ARRAY_TASK_ID]}\" --cell-recipe \"${recipes[$SLURM_ARRAY_TASK_ID]}\" &\n";
    o << "cap_pid=$!\n";
    o << "trap 'kill -USR1 \"$cap_pid\" 2>/dev/null' USR1 TERM\n";
    o << "while :; do\n";
    o << "    wait \"$cap_pid\"; status=$?\n";
    o << "    kill -0 \"$cap_pid\" 2>/dev/null || break  # wait returns early when a signal is trapped\n";
    o << "done\n";
    o << "if [ \"$status\" -eq 75 ]; then  # stopped at a checkpoint: run the rest later\n";
    o << "    scontrol requeue \"${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}\"\n";
    o << "fi\n";
    o << "exit \"$status\"\n";
    return o.str();
}

}  // namespace cap::sweep
