// cap check-plugin FILE.so: the conformance smoke test a plugin author runs before shipping.
// Loads the library step by step, creates an instance, calls every function of its kind once
// on small tensors, and checks that invalid calls come back as error statuses.
#include <cmath>
#include <iostream>

#include "cap/plugin_torch.hpp"
#include "cli/commands.hpp"
#include "plugin/backend_plugin.hpp"
#include "plugin/contrastive_plugin.hpp"
#include "plugin/criterion_plugin.hpp"
#include "plugin/distill_plugin.hpp"
#include "plugin/kind.hpp"
#include "plugin/schedule_plugin.hpp"
#include "prune/linear_evidence.hpp"
#include "recipe/overrides.hpp"
#include "recipe/schema_check.hpp"

namespace cap::cli {

namespace {

using host::PluginError;

class Checker {
public:
    void pass(const std::string& name, const std::string& detail = "") {
        ++passed_;
        std::cout << "  PASS  " << name << (detail.empty() ? "" : ": " + detail) << "\n";
    }
    void fail(const std::string& name, const std::string& why) {
        ++failed_;
        std::cout << "  FAIL  " << name << ": " << why << "\n";
    }
    void skip(const std::string& name, const std::string& why) {
        std::cout << "  SKIP  " << name << ": " << why << "\n";
    }
    // Runs `f`, which returns a detail string or throws; records pass or fail.
    template <class F>
    bool run(const std::string& name, F&& f) {
        try {
            pass(name, f());
            return true;
        } catch (const std::exception& e) {
            fail(name, e.what());
            return false;
        }
    }
    // The call must fail with an error status (not crash, not succeed).
    template <class F>
    void expect_error(const std::string& name, F&& f) {
        try {
            f();
            fail(name, "an invalid call succeeded; it must return an error status");
        } catch (const PluginError& e) {
            pass(name, std::string("error status returned (") + e.what() + ")");
        } catch (const std::exception& e) {
            fail(name, e.what());
        }
    }
    int passed() const { return passed_; }
    int failed() const { return failed_; }

private:
    int passed_ = 0, failed_ = 0;
};

[[noreturn]] void bad(const std::string& why) { throw std::runtime_error(why); }

void require_finite(const at::Tensor& t, const std::string& what) {
    if (!at::isfinite(t).all().item<bool>()) bad(what + " has non-finite values");
}

void require_binary(const at::Tensor& mask, const std::string& what) {
    if (!at::logical_or(mask == 0, mask == 1).all().item<bool>()) bad(what + " is not a 0/1 mask");
}

cap_exec_context cpu_context() {
    auto c = host::blank_struct<cap_exec_context>();
    c.device = {kDLCPU, 0};
    c.num_threads = 1;
    return c;
}

// --option values, checked against the schema like a recipe table.
host::OptionValues parse_options(const host::PluginLibrary& lib, const std::vector<std::string>& options) {
    recipe::Node table = recipe::Node::table(recipe::Origin::command_line("--option"));
    recipe::Overrides o;
    o.sets = options;
    recipe::apply_overrides(table, o, "--option");
    std::vector<recipe::Diagnostic> errors;
    auto values = recipe::check_table(table, lib.options(), lib.label(), "--option", {}, errors);
    if (!errors.empty()) throw recipe::RecipeErrors(errors);
    return values;
}

void check_backend(Checker& c, const std::shared_ptr<const host::PluginLibrary>& lib,
                   const host::OptionValues& values) {
    cap_backend_probe probe{};
    if (!c.run("probe", [&] {
            probe = host::probe_backend(*lib, values);
            if (probe.available) return std::string("available, ") + std::to_string(probe.device_count) + " device(s)";
            if (!probe.reason[0]) bad("unavailable without a reason");
            return std::string("unavailable: ") + probe.reason;
        }))
        return;
    if (!probe.available) {
        c.skip("create and calls", "the backend is unavailable here");
        return;
    }
    std::unique_ptr<host::BackendPlugin> backend;
    if (!c.run("create", [&] {
            backend = std::make_unique<host::BackendPlugin>(std::make_unique<host::PluginInstance>(lib, values));
            return std::string();
        }))
        return;
    cap_exec_context ctx{};
    c.run("context", [&] {
        ctx = backend->context();
        if (ctx.device.device_type != probe.device.device_type) bad("device type differs from probe()");
        return "device type " + std::to_string(ctx.device.device_type) + ", " + std::to_string(ctx.num_threads) +
               " threads";
    });
    c.run("precision", [&] {
        auto p = backend->precision();
        if (p.param_dtype.bits == 0 || p.compute_dtype.bits == 0) bad("dtype not set");
        return std::string();
    });
    c.run("synchronize", [&] {
        backend->synchronize(ctx);
        return std::string();
    });
    c.run("memory", [&] {
        auto m = backend->memory();
        return std::to_string(m.used) + " bytes used";
    });
    c.run("describe", [&] {
        auto d = backend->describe();
        if (d.empty()) bad("empty description");
        return d;
    });
    c.expect_error("synchronize(foreign device) is an error", [&] {
        auto other = ctx;
        other.device.device_type = ctx.device.device_type == kDLCPU ? kDLCUDA : kDLCPU;
        backend->synchronize(other);
    });
}

struct GroupSet {
    std::vector<std::string> names;
    std::vector<at::Tensor> masks, grads, weights, weight_grads, scores, norms, grams;
    std::vector<DLTensor> dl_masks, dl_grads, dl_weights, dl_weight_grads, dl_scores, dl_norms, dl_grams;
    std::vector<cap_unit_group> groups;
    host::CriterionPlugin::Groups pointers;

    GroupSet(bool structured, uint32_t needs) {
        at::manual_seed(7);
        std::vector<std::vector<int64_t>> shapes = structured ? std::vector<std::vector<int64_t>>{{2, 2}, {2, 4}}
                                                              : std::vector<std::vector<int64_t>>{{4, 6}, {6, 4}};
        names = structured
                    ? std::vector<std::string>{"heads", "ffn"}
                    : std::vector<std::string>{"encoder.layer.0.attention.self.query", "encoder.layer.0.output.dense"};
        for (auto& s : shapes) {
            masks.push_back(at::ones(s));
            grads.push_back(at::randn(s));
            weights.push_back(at::randn(s));
            weight_grads.push_back(at::randn(s));
            scores.push_back(at::randn(s));
            norms.push_back(at::rand({s[1]}));
            at::Tensor x = at::randn({8, s[1]});
            grams.push_back(at::matmul(x.t(), x));
        }
        for (size_t i = 0; i < shapes.size(); ++i) {
            dl_masks.push_back(cap::to_dl(masks[i]));
            dl_grads.push_back(cap::to_dl(grads[i]));
            dl_weights.push_back(cap::to_dl(weights[i]));
            dl_weight_grads.push_back(cap::to_dl(weight_grads[i]));
            dl_scores.push_back(cap::to_dl(scores[i]));
            dl_norms.push_back(cap::to_dl(norms[i]));
            dl_grams.push_back(cap::to_dl(grams[i]));
        }
        for (size_t i = 0; i < shapes.size(); ++i) {
            auto g = host::blank_struct<cap_unit_group>();
            g.name = names[i].c_str();
            g.unit_kind = structured ? (i == 0 ? CAP_UNITS_HEADS : CAP_UNITS_FFN_NEURONS) : CAP_UNITS_WEIGHTS;
            g.layer = structured ? -1 : 0;
            g.mask = &dl_masks[i];
            if (needs & CAP_NEEDS_MASK_GRADS) g.mask_grad = &dl_grads[i];
            if (needs & CAP_NEEDS_WEIGHTS) g.weight = &dl_weights[i];
            if (needs & CAP_NEEDS_WEIGHT_GRADS) g.weight_grad = &dl_weight_grads[i];
            if (needs & CAP_NEEDS_SCORES) g.scores = &dl_scores[i];
            if (!structured) {  // an unstructured criterion's groups are the linears themselves
                g.linear_role = i == 0 ? CAP_LINEAR_QUERY : CAP_LINEAR_OUTPUT;
                if (needs & CAP_NEEDS_INPUT_NORMS) g.input_sq_norms = &dl_norms[i];
                if (needs & CAP_NEEDS_INPUT_GRAM) g.input_gram = &dl_grams[i];
            }
            groups.push_back(g);
        }
        // ABI 1.2: a structured criterion that asks for them gets the linears of a model with 2
        // layers of 2 heads of size 2 (hidden 4) and 4 FFN neurons: every linear is [4, 4].
        if (structured && (needs & prune::kLinearNeeds)) {
            for (int32_t layer = 0; layer < 2; ++layer)
                for (int32_t role = CAP_LINEAR_QUERY; role <= CAP_LINEAR_OUTPUT; ++role) {
                    prune::LinearTensors t;
                    t.name = "encoder.layer." + std::to_string(layer) + ".linear" + std::to_string(role);
                    t.layer = layer;
                    t.role = static_cast<cap_linear_role>(role);
                    t.out_features = t.in_features = 4;
                    if (needs & CAP_NEEDS_WEIGHTS) t.weight = at::randn({4, 4});
                    if (needs & CAP_NEEDS_WEIGHT_GRADS) t.weight_grad = at::randn({4, 4});
                    if (needs & CAP_NEEDS_INPUT_NORMS) t.input_sq_norms = at::rand({4});
                    if (needs & CAP_NEEDS_INPUT_GRAM) {
                        at::Tensor x = at::randn({6, 4});
                        t.input_gram = at::matmul(x.t(), x);
                    }
                    linear_tensors.push_back(std::move(t));
                }
            linears = std::make_unique<prune::LinearViews>(linear_tensors, 2);
            linears->attach(groups[0], groups[1]);
        }
        for (auto& g : groups) pointers.push_back(&g);
    }
    std::vector<prune::LinearTensors> linear_tensors;
    std::unique_ptr<prune::LinearViews> linears;
};

struct Outputs {
    std::vector<at::Tensor> tensors;
    std::vector<DLTensor> dl;
    host::CriterionPlugin::Outputs pointers;
    explicit Outputs(const std::vector<at::Tensor>& like) {
        for (const auto& t : like) tensors.push_back(at::zeros_like(t));
        for (auto& t : tensors) dl.push_back(cap::to_dl(t));
        for (auto& d : dl) pointers.push_back(&d);
    }
};

void check_criterion(Checker& c, host::PluginInstance* raw) {
    std::unique_ptr<host::PluginInstance> owned(raw);
    std::unique_ptr<host::CriterionPlugin> made;
    if (!c.run("info and the entries of its style", [&] {
            made = std::make_unique<host::CriterionPlugin>(std::move(owned));
            const auto& info = made->info();
            return std::string(info.granularity == CAP_GRANULARITY_STRUCTURED ? "structured" : "unstructured") +
                   (made->score_based() ? ", score-based" : ", importance-based");
        }))
        return;
    const host::CriterionPlugin& criterion = *made;
    // A run would refuse these needs before training: say so here, and test nothing further.
    if (!c.run("needs that its granularity can get", [&] {
            if (auto problem = host::needs_problem(criterion.info())) bad(*problem);
            return std::string();
        }))
        return;
    const auto ctx = cpu_context();
    const bool structured = criterion.info().granularity == CAP_GRANULARITY_STRUCTURED;
    GroupSet g(structured, criterion.info().needs);
    if (!criterion.score_based()) {
        c.run("reset", [&] {
            criterion.reset();
            return std::string();
        });
        c.run("accumulate (2 batches)", [&] {
            auto batch = host::blank_struct<cap_batch_info>();
            batch.examples = 4;
            batch.tokens = 32;
            criterion.accumulate(ctx, batch, g.pointers);
            criterion.accumulate(ctx, batch, g.pointers);
            return std::string();
        });
        c.run("importance", [&] {
            Outputs out(g.masks);
            criterion.importance(ctx, g.pointers, out.pointers);
            for (auto& t : out.tensors) require_finite(t, "importance");
            return std::string();
        });
        c.run("select", [&] {
            auto constraints = host::blank_struct<cap_constraints>();
            constraints.min_heads_per_layer = 1;
            auto sel = host::blank_struct<cap_selection>();
            sel.heads_to_prune = 1;
            sel.ffn_to_prune = 2;
            sel.keep_fraction = 0.5;
            sel.constraints = &constraints;
            Outputs out(g.masks);
            criterion.select(ctx, sel, g.pointers, out.pointers);
            int64_t kept = 0, total = 0;
            for (size_t i = 0; i < out.tensors.size(); ++i) {
                require_binary(out.tensors[i], "new mask of " + g.names[i]);
                kept += out.tensors[i].sum().item<int64_t>();
                total += out.tensors[i].numel();
            }
            if (structured) {
                int64_t heads_pruned = g.masks[0].numel() - out.tensors[0].sum().item<int64_t>();
                int64_t ffn_pruned = g.masks[1].numel() - out.tensors[1].sum().item<int64_t>();
                if (heads_pruned != 1 || ffn_pruned != 2)
                    bad("asked to prune 1 head and 2 neurons, pruned " + std::to_string(heads_pruned) + " and " +
                        std::to_string(ffn_pruned));
                if ((out.tensors[0].sum(1) < 1).any().item<bool>())
                    bad("a layer lost every head despite min_heads_per_layer = 1");
            } else if (kept != total / 2) {
                bad("asked to keep 50% of " + std::to_string(total) + " weights, kept " + std::to_string(kept));
            }
            return std::to_string(kept) + " of " + std::to_string(total) + " units kept";
        });
        c.expect_error("importance into wrongly shaped outputs is an error", [&] {
            Outputs out({at::zeros({3}), at::zeros({3})});
            criterion.importance(ctx, g.pointers, out.pointers);
        });
        return;
    }
    auto point = host::blank_struct<cap_schedule_point>();
    point.target_kind = CAP_TARGET_THRESHOLD;
    point.target = 0.5;
    point.stage = -1;
    auto progress = host::blank_struct<cap_progress>();
    progress.step = 10;
    progress.total_steps = 100;
    progress.steps_per_epoch = 10;
    progress.total_epochs = 10;
    if (criterion.has_init_scores())
        c.run("init_scores", [&] {
            Outputs out(g.scores);
            criterion.init_scores(ctx, g.pointers, out.pointers);
            for (auto& t : out.tensors) require_finite(t, "initial scores");
            return std::string();
        });
    c.run("binarize", [&] {
        Outputs out(g.masks);
        criterion.binarize(ctx, point, progress, g.pointers, out.pointers);
        for (auto& t : out.tensors) require_binary(t, "binarized mask");
        return std::string();
    });
    if (criterion.has_binarize_backward())
        c.run("binarize_backward", [&] {
            Outputs out(g.scores);
            std::vector<const DLTensor*> grads;
            for (auto& d : g.dl_grads) grads.push_back(&d);
            criterion.binarize_backward(ctx, point, progress, g.pointers, grads, out.pointers);
            for (auto& t : out.tensors) require_finite(t, "score gradient");
            return std::string();
        });
    if (criterion.has_regularizer())
        c.run("regularizer", [&] {
            Outputs out(g.scores);
            double v = criterion.regularizer(ctx, point, progress, g.pointers, out.pointers);
            if (!std::isfinite(v)) bad("non-finite value");
            for (auto& t : out.tensors) require_finite(t, "regularizer gradient");
            return "value " + std::to_string(v);
        });
    c.expect_error("binarize into wrongly shaped outputs is an error", [&] {
        Outputs out({at::zeros({3}), at::zeros({3})});
        criterion.binarize(ctx, point, progress, g.pointers, out.pointers);
    });
}

void check_schedule(Checker& c, host::PluginInstance* raw) {
    host::SchedulePlugin schedule{std::unique_ptr<host::PluginInstance>(raw)};
    auto shape = host::blank_struct<cap_model_shape>();
    shape.num_layers = 12;
    shape.num_heads = 12;
    shape.hidden_size = 768;
    shape.intermediate_size = 3072;
    auto constraints = host::blank_struct<cap_constraints>();
    constraints.min_heads_per_layer = 1;
    if (!c.run("bind (BERT-base shape)", [&] {
            schedule.bind(shape, constraints);
            return std::string();
        }))
        return;
    uint32_t n = 0;
    c.run("stages", [&] {
        n = schedule.num_stages();
        int64_t heads = 0, ffn = 0;
        for (uint32_t i = 0; i < n; ++i) {
            auto s = schedule.stage(i);
            if (s.target_sparsity < 0 || s.target_sparsity > 1) bad("stage target outside [0, 1]");
            if (s.heads_to_prune < 0 || s.ffn_to_prune < 0) bad("negative units to prune");
            heads += s.heads_to_prune;
            ffn += s.ffn_to_prune;
        }
        if (heads > 144 || ffn > 12 * 3072) bad("stages prune more units than the model has");
        return std::to_string(n) + " stage(s)";
    });
    c.run("at (start, middle, end)", [&] {
        for (int64_t step : {int64_t{0}, int64_t{500}, int64_t{999}}) {
            auto p = host::blank_struct<cap_progress>();
            p.step = step;
            p.total_steps = 1000;
            p.steps_per_epoch = 100;
            p.epoch = step / 100;
            p.total_epochs = 10;
            auto point = schedule.at(p);
            if (point.target_kind != CAP_TARGET_SPARSITY && point.target_kind != CAP_TARGET_THRESHOLD)
                bad("unknown target kind");
            if (!std::isfinite(point.target)) bad("non-finite target");
        }
        return std::string();
    });
    c.expect_error("stage(num_stages) is an error", [&] { schedule.stage(n); });
}

void check_contrastive(Checker& c, host::PluginInstance* raw) {
    host::ContrastivePlugin module{std::unique_ptr<host::PluginInstance>(raw)};
    const auto ctx = cpu_context();
    uint32_t wants = 0;
    c.run("wants", [&] {
        wants = module.wants();
        if (wants & ~uint32_t{CAP_CAPTURE_PRETRAINED | CAP_CAPTURE_FINETUNED | CAP_CAPTURE_SNAPSHOT})
            bad("unknown capture bits");
        return std::to_string(wants);
    });
    at::manual_seed(7);
    at::Tensor reps = at::randn({8, 4});
    reps = reps / reps.norm(2, 1, true);
    at::Tensor labels = at::tensor(std::vector<int64_t>{0, 1, 0, 1, 0, 1, 0, 1});
    DLTensor dl_labels = cap::to_dl(labels);
    c.run("receive_bank", [&] {
        int count = 0;
        for (uint32_t source : {CAP_CAPTURE_PRETRAINED, CAP_CAPTURE_FINETUNED, CAP_CAPTURE_SNAPSHOT}) {
            if (!(wants & source)) continue;
            auto bank = host::blank_struct<cap_bank>();
            bank.source = source;
            bank.snapshot_index = source == CAP_CAPTURE_SNAPSHOT ? 0 : -1;
            bank.representations = cap::to_managed(reps);  // the module owns it from here
            bank.labels = &dl_labels;
            module.receive_bank(ctx, bank);
            ++count;
        }
        return std::to_string(count) + " bank(s)";
    });
    at::Tensor anchors = reps.index_select(0, at::tensor(std::vector<int64_t>{0, 3, 5}));
    at::Tensor idx = at::tensor(std::vector<int64_t>{0, 3, 5});
    at::Tensor lab = at::tensor(std::vector<int64_t>{0, 1, 1});
    DLTensor dl_anchors = cap::to_dl(anchors), dl_idx = cap::to_dl(idx), dl_lab = cap::to_dl(lab);
    auto progress = host::blank_struct<cap_progress>();
    progress.step = 3;
    progress.total_steps = 100;
    progress.steps_per_epoch = 10;
    progress.total_epochs = 10;
    auto batch = host::blank_struct<cap_contrastive_batch>();
    batch.progress = &progress;
    batch.anchors = &dl_anchors;
    batch.indices = &dl_idx;
    batch.labels = &dl_lab;
    c.run("loss", [&] {
        at::Tensor grad = at::zeros({3, 4});
        DLTensor dl_grad = cap::to_dl(grad);
        auto terms = module.loss(ctx, batch, &dl_grad);
        if (!std::isfinite(terms.total)) bad("non-finite loss");
        require_finite(grad, "gradient");
        return "total " + std::to_string(terms.total);
    });
    c.run("memory", [&] { return std::to_string(module.memory()) + " bytes"; });
    c.expect_error("loss into a wrongly shaped gradient is an error", [&] {
        at::Tensor grad = at::zeros({2, 4});
        DLTensor dl_grad = cap::to_dl(grad);
        module.loss(ctx, batch, &dl_grad);
    });
}

void check_distill(Checker& c, host::PluginInstance* raw) {
    host::DistillPlugin distill{std::unique_ptr<host::PluginInstance>(raw)};
    const auto ctx = cpu_context();
    at::manual_seed(7);
    at::Tensor s = at::randn({2, 3}), t = at::randn({2, 3});
    DLTensor ds = cap::to_dl(s), dt = cap::to_dl(t);
    auto batch = host::blank_struct<cap_distill_batch>();
    batch.student_logits = &ds;
    batch.teacher_logits = &dt;
    c.run("loss", [&] {
        at::Tensor grad = at::zeros({2, 3});
        DLTensor dg = cap::to_dl(grad);
        double v = distill.loss(ctx, batch, &dg);
        if (!std::isfinite(v)) bad("non-finite loss");
        require_finite(grad, "gradient");
        return "value " + std::to_string(v);
    });
    c.expect_error("loss with mismatched logits is an error", [&] {
        at::Tensor t4 = at::randn({2, 4}), grad = at::zeros({2, 3});
        DLTensor dt4 = cap::to_dl(t4), dg = cap::to_dl(grad);
        auto mismatched = batch;
        mismatched.teacher_logits = &dt4;
        distill.loss(ctx, mismatched, &dg);
    });
}

}  // namespace

int cmd_check_plugin(const GlobalOptions&, const std::string& file, const std::vector<std::string>& options) {
    Checker c;
    std::cout << "check-plugin " << file << "\n";
    std::shared_ptr<host::PluginLibrary> lib;
    try {
        lib = host::PluginLibrary::load(file);
        for (const auto& step : host::load_steps()) c.pass(step);
    } catch (const host::PluginLoadError& e) {
        for (const auto& step : host::load_steps()) {
            if (step == e.step()) {
                c.fail(step, e.what());
                break;
            }
            c.pass(step);
        }
    }
    if (lib) {
        std::cout << "  " << lib->label() << " " << lib->version() << ", ABI " << lib->abi_version() << ", "
                  << lib->options().size() << " option(s)\n";
        host::OptionValues values;
        bool ok = c.run("options", [&] {
            values = parse_options(*lib, options);
            return std::string();
        });
        if (ok && lib->kind() == CAP_KIND_BACKEND) {
            check_backend(c, lib, values);
        } else if (ok) {
            std::unique_ptr<host::PluginInstance> instance;
            ok = c.run("create", [&] {
                instance = std::make_unique<host::PluginInstance>(lib, values);
                return std::string();
            });
            if (ok) {
                switch (lib->kind()) {
                    case CAP_KIND_CRITERION: check_criterion(c, instance.release()); break;
                    case CAP_KIND_SCHEDULE: check_schedule(c, instance.release()); break;
                    case CAP_KIND_CONTRASTIVE: check_contrastive(c, instance.release()); break;
                    case CAP_KIND_DISTILL: check_distill(c, instance.release()); break;
                    default: break;
                }
            }
        }
    }
    std::cout << "checks: " << c.passed() << " passed, " << c.failed() << " failed\n";
    return c.failed() == 0 ? kExitOk : kExitFailure;
}

}  // namespace cap::cli
