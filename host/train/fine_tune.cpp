#include "train/fine_tune.hpp"

#include <ATen/ATen.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <numeric>
#include <optional>
#include <random>
#include <sstream>

#include "train/adamw.hpp"
#include "train/checkpoint.hpp"
#include "train/host_syncs.hpp"
#include "train/loss_scaler.hpp"
#include "train/lr_schedule.hpp"
#include "util/seed.hpp"

namespace cap::train {

namespace {

using Clock = std::chrono::steady_clock;

std::vector<int64_t> permutation(size_t n, std::mt19937_64& rng) {
    std::vector<int64_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    for (size_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng() % i]);  // Fisher-Yates, portable
    return order;
}

std::string duration_text(double seconds) {
    const auto s = static_cast<long long>(seconds);
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%02lld:%02lld:%02lld", s / 3600, (s / 60) % 60, s % 60);
    return buf;
}

}  // namespace

at::Tensor task_loss(const data::Task& task, const model::BertOutputs& out, const data::Batch& batch) {
    if (task.head() == model::TaskHead::kClassification) return at::cross_entropy_loss(out.logits, batch.labels);
    return (at::cross_entropy_loss(out.start_logits, batch.start_positions) +
            at::cross_entropy_loss(out.end_logits, batch.end_positions)) /
           2;
}

nlohmann::ordered_json fine_tune(const StageContext& ctx, const settings::FineTuneSettings& s) {
    const auto n = ctx.task.train_size();
    if (n == 0) throw std::runtime_error("task " + ctx.task.name() + " has no training examples");
    const int64_t steps_per_epoch = static_cast<int64_t>((n + s.batch_size - 1) / s.batch_size);
    const int64_t total_steps = std::max<int64_t>(1, std::llround(std::ceil(s.epochs * steps_per_epoch)));
    const int64_t epochs = (total_steps + steps_per_epoch - 1) / steps_per_epoch;
    const auto warmup =
        s.warmup_steps > 0 ? s.warmup_steps : static_cast<int64_t>(std::ceil(s.warmup_ratio * total_steps));

    ctx.model->to(ctx.device);
    AdamW optimizer(ctx.model, {s.learning_rate, s.weight_decay, s.adam_epsilon});
    for (const auto& g : ctx.extra_groups) optimizer.add_group(g.name, g.tensors, g.lr_scale);
    LinearSchedule schedule(warmup, total_steps);
    std::vector<at::Tensor> trained;  // what the loss scaler unscales
    for (const auto& p : optimizer.params()) trained.push_back(p.value);
    std::mt19937_64 shuffle(util::derive_seed(ctx.seed, ("data-order/" + ctx.stage).c_str()));

    int64_t epoch = 0, step = 0;
    std::optional<LossScaler> scaler;
    if (ctx.loss_scaling) scaler.emplace();
    if (ctx.resume && ctx.checkpoints) {
        if (auto folder = latest_checkpoint(ctx.checkpoint_dir, ctx.stage)) {
            TrainingState state = load_checkpoint(*folder, ctx.model, optimizer);
            epoch = state.epoch;
            step = state.step;
            if (scaler && state.loss_scaler) scaler.emplace(*state.loss_scaler);
            std::istringstream(state.shuffle_rng) >> shuffle;
            ctx.log.truncate(state.metrics_bytes);
            spdlog::info("{}: resuming after epoch {} (step {}) from {}", ctx.stage, epoch, step, folder->string());
        }
    }
    spdlog::info("{}: {} examples, {} epochs of {} steps (batch {}), lr {} with {} warm-up steps", ctx.stage, n,
                 s.epochs, steps_per_epoch, s.batch_size, s.learning_rate, warmup);

    data::EvalOptions eval_options{s.eval_batch_size, ctx.device, false, ctx.eval_forward};
    auto event = [&](const char* kind, int64_t ep, int64_t st) {
        nlohmann::ordered_json e{{"event", kind}, {"stage", ctx.stage}, {"epoch", ep}, {"step", ctx.step_offset + st}};
        for (auto& [k, v] : ctx.event_fields.items()) e[k] = v;
        return e;
    };
    std::vector<std::pair<std::string, double>> window_terms;
    nlohmann::ordered_json last_eval;
    const auto stage_start = Clock::now();
    const int64_t first_step = step;
    const bool count_syncs = host_sync_counting();
    for (; epoch < epochs && step < total_steps; ++epoch) {
        if (ctx.on_epoch_start) ctx.on_epoch_start(epoch, ctx.step_offset + step);
        ctx.model->train();
        const auto order = permutation(n, shuffle);
        double window_loss = 0;
        int64_t window_steps = 0, window_examples = 0, window_skipped = 0;
        int64_t window_syncs_from = host_syncs();
        auto window_start = Clock::now();
        for (int64_t b = 0; b < steps_per_epoch && step < total_steps; ++b) {
            const auto begin = static_cast<size_t>(b * s.batch_size);
            const auto end = std::min(n, begin + static_cast<size_t>(s.batch_size));
            std::vector<int64_t> indices(order.begin() + static_cast<std::ptrdiff_t>(begin),
                                         order.begin() + static_cast<std::ptrdiff_t>(end));
            data::Batch batch = ctx.task.train_batch(indices).to(ctx.device);
            const double lr = s.learning_rate * schedule.factor(step);
            optimizer.set_learning_rate(lr);
            optimizer.zero_grad();
            StepLoss loss;
            if (ctx.step_loss) {
                loss = ctx.step_loss(batch, ctx.step_offset + step);
            } else {
                loss.loss = task_loss(ctx.task, ctx.model->forward(batch.inputs), batch);
                loss.value = loss.loss.item<double>();
            }
            bool finite = true;
            if (scaler) {
                scaler->scale(loss.loss).backward();
                finite = scaler->unscale(trained);
                scaler->update(finite);
                if (!finite) ++window_skipped;
            } else {
                loss.loss.backward();
            }
            if (finite) {  // a float16 step with inf/NaN gradients is skipped, as GradScaler does
                if (ctx.after_backward) ctx.after_backward(ctx.step_offset + step);
                optimizer.step(s.max_grad_norm);
            }
            ++step;
            window_loss += loss.value;
            if (window_terms.empty())
                window_terms = loss.terms;
            else
                for (size_t t = 0; t < loss.terms.size() && t < window_terms.size(); ++t)
                    window_terms[t].second += loss.terms[t].second;
            ++window_steps;
            window_examples += batch.examples;
            if (step % s.log_every == 0 || step == total_steps) {
                const double seconds = std::chrono::duration<double>(Clock::now() - window_start).count();
                const double per_step =
                    std::chrono::duration<double>(Clock::now() - stage_start).count() / double(step - first_step);
                const double rate = window_examples / std::max(seconds, 1e-9);
                spdlog::info("{} epoch {}/{} step {}/{} loss {:.4f} lr {:.3g} {:.1f} examples/s, {} left", ctx.stage,
                             epoch + 1, epochs, step, total_steps, window_loss / window_steps, lr, rate,
                             duration_text(per_step * double(total_steps - step)));
                auto e = event("train", epoch + 1, step);
                e["loss"] = window_loss / window_steps;
                for (const auto& [name, sum] : window_terms) e[name] = sum / window_steps;
                e["learning_rate"] = lr;
                e["examples_per_second"] = rate;
                if (scaler) {
                    e["loss_scale"] = scaler->state().scale;
                    e["skipped_steps"] = window_skipped;
                }
                if (count_syncs) e["host_syncs_per_step"] = double(host_syncs() - window_syncs_from) / window_steps;
                ctx.log.write(e);
                window_terms.clear();
                window_loss = 0;
                window_steps = window_examples = window_skipped = 0;
                window_start = Clock::now();
                window_syncs_from = host_syncs();
            }
        }
        auto e = event("eval", epoch + 1, step);
        if (ctx.before_eval) {
            const nlohmann::ordered_json fields = ctx.before_eval();
            for (auto& [k, v] : fields.items()) e[k] = v;
        }
        auto result = ctx.task.evaluate(ctx.model, eval_options);
        last_eval = result.metrics;
        for (auto& [k, v] : result.metrics.items()) e[k] = v;
        ctx.log.write(e);
        spdlog::info("{} epoch {} evaluation: {}", ctx.stage, epoch + 1, result.metrics.dump());
        if (!ctx.checkpoints) continue;
        std::ostringstream rng_text;
        rng_text << shuffle;
        TrainingState state;
        state.stage = ctx.stage;
        state.epoch = epoch + 1;
        state.step = step;
        state.metrics_bytes = ctx.log.size();
        state.shuffle_rng = rng_text.str();
        if (scaler) state.loss_scaler = scaler->state();
        save_checkpoint(ctx.checkpoint_dir, state, ctx.model, optimizer, s.keep_checkpoints);
    }
    return last_eval;
}

}  // namespace cap::train
