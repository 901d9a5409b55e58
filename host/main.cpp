// cap: compress pre-trained language models with contrastive pruning, by recipe.
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <iostream>

#include "cli/commands.hpp"
#include "system/blas_probe.hpp"
#include "system/process_tuning.hpp"
#include "util/crash_report.hpp"
#include "util/error_text.hpp"
#include "util/logging.hpp"

int main(int argc, char** argv) {
    cap::sys::ensure_passive_openmp(argv);
    cap::sys::keep_freed_memory();
    cap::util::install_crash_handler();  // names the plugin call a crash happened in
    using namespace cap::cli;
    CLI::App app{
        "cap: contrastive pruning of pre-trained language models, driven by TOML recipes "
        "and plugins",
        "cap"};
    app.set_version_flag("--version", std::string("cap ") + CAP_VERSION_STRING + " (plugin ABI " +
                                          std::to_string(CAP_ABI_VERSION_MAJOR) + "." +
                                          std::to_string(CAP_ABI_VERSION_MINOR) + ")");
    app.require_subcommand(1);
    app.fallthrough();  // global options may come anywhere: before, after or inside the subcommand

    GlobalOptions global;
    std::string log_level = "info";
    // One folder per --plugin-path, so that `cap run --plugin-path DIR RECIPE` leaves RECIPE to run.
    app.add_option("--plugin-path", global.plugin_paths,
                   "folder searched for plugins before CAP_PLUGIN_PATH and the built-in folder (repeatable)")
        ->allow_extra_args(false);
    app.add_option("--log-level", log_level, "trace, debug, info, warn or error")->capture_default_str();

    auto* plugins = app.add_subcommand("plugins", "list every plugin found, with its options");
    bool json = false;
    plugins->add_flag("--json", json, "machine-readable output");

    cap::recipe::Overrides overrides;
    auto add_overrides = [&](CLI::App* cmd) {
        cmd->add_option("--set", overrides.sets, "override a recipe key: --set a.b=value (repeatable)")
            ->allow_extra_args(false);
        cmd->add_option("--unset", overrides.unsets, "remove a recipe key or table: --unset a.b (repeatable)")
            ->allow_extra_args(false);
    };
    auto* validate = app.add_subcommand("validate", "check a recipe and every plugin option; writes nothing");
    std::string recipe;
    validate->add_option("RECIPE", recipe, "recipe file (TOML)")->required();
    add_overrides(validate);

    auto* run = app.add_subcommand("run", "validate a recipe, create the run folder and run it");
    RunOptions run_options;
    run->add_option("RECIPE", run_options.recipe, "recipe file (TOML)");
    run->add_option("--out", run_options.out_dir, "run folder (default: runs/<name>-<UTC time>)");
    run->add_option("--resume", run_options.resume, "continue the run in this folder from its last checkpoint");
    add_overrides(run);

    auto* sweep = app.add_subcommand("sweep",
                                     "expand a recipe's [sweep] into runs: list them, run them here "
                                     "(resumable), or write a Slurm job array");
    SweepOptions sweep_options;
    sweep->add_option("RECIPE", sweep_options.recipe, "recipe file with a [sweep] table")->required();
    sweep->add_option("--out", sweep_options.out_dir, "the sweep's folder (default: runs/<sweep name>)");
    sweep->add_flag("--dry-run", sweep_options.dry_run, "list the runs and where each stands; run nothing");
    sweep->add_option("--emit", sweep_options.emit, "write a job script instead of running: slurm");
    sweep->add_option("--cell", sweep_options.cell, "run only this run of the sweep (index or name)");
    sweep->add_option("--cell-recipe", sweep_options.cell_recipe,
                      "with --cell: refuse unless the run's recipe has this fingerprint (what emitted scripts pass)");
    add_overrides(sweep);

    auto* report = app.add_subcommand("report", "tables (Markdown, CSV) and plots from finished runs");
    ReportOptions report_options;
    report->add_option("RUN_DIR", report_options.run_dirs, "run folders, or sweep folders")->required();
    report->add_option("--layout", report_options.layout, "layout file: rows, columns, levels, published numbers");
    report->add_option("--out", report_options.out_dir, "where the report goes (default: report)");

    auto* eval = app.add_subcommand("eval", "evaluate a Hugging Face checkpoint on a task's dev data");
    EvalCommand eval_options;
    eval->add_option("--model", eval_options.model,
                     "Hugging Face folder (dense, masked or compacted), or a model id in the local Hugging Face cache")
        ->required();
    eval->add_option("--task", eval_options.task, "sst2, mnli, qqp, qnli, rte, mrpc, wnli, squad or synthetic")
        ->required();
    eval->add_option("--data", eval_options.data,
                     "the task's data folder, or one dev file (dev.tsv, dev_matched.tsv, dev-v1.1.json)");
    eval->add_option("--max-seq-length", eval_options.max_seq_length, "tokens per input")
        ->capture_default_str()
        ->check(CLI::Range(8, 4096));
    eval->add_option("--doc-stride", eval_options.doc_stride, "SQuAD: tokens shared by consecutive windows")
        ->capture_default_str()
        ->check(CLI::Range(1, 4096));
    eval->add_option("--batch-size", eval_options.batch_size, "examples per batch")
        ->capture_default_str()
        ->check(CLI::Range(1, 1 << 20));
    eval->add_option("--precision", eval_options.precision, "float32, or bfloat16 (autocast on the CPU)")
        ->check(CLI::IsMember({"float32", "bfloat16"}));
    eval->add_option("--out", eval_options.out, "write per-example predictions (JSON lines, input order) here");

    auto* check = app.add_subcommand("check-plugin", "load one plugin library and run its conformance checks");
    std::string plugin_file;
    std::vector<std::string> plugin_options;
    check->add_option("FILE", plugin_file, "plugin library (.so)")->required();
    check->add_option("--option", plugin_options, "plugin option for create: --option name=value (repeatable)")
        ->allow_extra_args(false);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        int code = app.exit(e);
        return code == 0 ? kExitOk : kExitUsage;
    }

    try {
        cap::util::init_logging(cap::util::parse_log_level(log_level));
    } catch (const std::exception& e) {
        std::cerr << "--log-level: " << e.what() << "\n";
        return kExitUsage;
    }
    if (auto warning = cap::sys::blas_warning(cap::sys::probe_blas()); !warning.empty()) spdlog::warn("{}", warning);

    try {
        if (plugins->parsed()) return cmd_plugins(global, json);
        if (validate->parsed()) return cmd_validate(global, recipe, overrides);
        if (check->parsed()) return cmd_check_plugin(global, plugin_file, plugin_options);
        if (eval->parsed()) return cmd_eval(eval_options);
        if (report->parsed()) return cmd_report(report_options);
        if (sweep->parsed()) {
            sweep_options.overrides = overrides;
            sweep_options.command_line.assign(argv, argv + argc);
            return cmd_sweep(global, sweep_options);
        }
        run_options.overrides = overrides;
        run_options.command_line.assign(argv, argv + argc);
        return cmd_run(global, run_options);
    } catch (const std::exception& e) {
        // Commands report their own errors; this is the last line against an unexpected one.
        spdlog::error("{}", cap::util::error_text(e));
        return kExitFailure;
    }
}
