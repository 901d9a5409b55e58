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
#include "util/fault_point.hpp"
#include "util/seed.hpp"
#include "util/stop_request.hpp"

namespace cap::train {

namespace {

using Clock = std::chrono::steady_clock;

std::vector<int64_t> permutation(size_t n, std::mt19937_64& rng) {
    std::vector<int64_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    for (size_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng() % i]);  // Fisher-Yates, portable
    return order;
}

// The running sums behind a progress line (a train event): kept in a checkpoint written
// between two lines, so the resumed run's next line averages the same steps.
struct ProgressWindow {
    double loss = 0;
    std::vector<std::pair<std::string, double>> terms;
    int64_t steps = 0, examples = 0, skipped = 0;

    void add(const StepLoss& step, int64_t batch_examples) {
        loss += step.value;
        if (terms.empty())
            terms = step.terms;
        else
            for (size_t t = 0; t < step.terms.size() && t < terms.size(); ++t) terms[t].second += step.terms[t].second;
        ++steps;
        examples += batch_examples;
    }

    nlohmann::ordered_json to_json() const {
        nlohmann::ordered_json t = nlohmann::ordered_json::array();
        for (const auto& [name, sum] : terms) t.push_back({name, sum});
        return {{"loss", loss}, {"terms", t}, {"steps", steps}, {"examples", examples}, {"skipped", skipped}};
    }

    static ProgressWindow from_json(const nlohmann::ordered_json& j) {
        ProgressWindow w;
        w.loss = j.at("loss").get<double>();
        for (const auto& t : j.at("terms")) w.terms.emplace_back(t.at(0).get<std::string>(), t.at(1).get<double>());
        w.steps = j.at("steps").get<int64_t>();
        w.examples = j.at("examples").get<int64_t>();
        w.skipped = j.at("skipped").get<int64_t>();
        return w;
    }
};

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

    int64_t epoch = 0, step = 0, resume_batch = 0;
    std::optional<LossScaler> scaler;
    if (ctx.loss_scaling) scaler.emplace();
    ProgressWindow window;
    nlohmann::ordered_json last_eval;
    if (ctx.resume && ctx.checkpoints) {
        if (auto state = restore_newest(ctx.checkpoint_dir, ctx.stage, ctx.model, optimizer)) {
            epoch = state->epoch;
            resume_batch = state->batch;
            step = state->step;
            if (scaler && state->loss_scaler) scaler.emplace(*state->loss_scaler);
            std::istringstream(state->shuffle_rng) >> shuffle;
            if (!state->last_eval.is_null()) last_eval = state->last_eval;
            if (!state->window.is_null()) window = ProgressWindow::from_json(state->window);
            ctx.log.truncate(state->metrics_bytes);
            if (ctx.on_restore) ctx.on_restore(state->extra);
            if (resume_batch > 0)
                spdlog::info("{}: resuming inside epoch {} after step {} (batch {} of {})", ctx.stage, epoch + 1, step,
                             resume_batch, steps_per_epoch);
            else
                spdlog::info("{}: resuming after epoch {} (step {})", ctx.stage, epoch, step);
        } else if (ctx.metrics_bytes_at_start) {
            ctx.log.truncate(*ctx.metrics_bytes_at_start);
        }
    }
    spdlog::info("{}: {} examples, {} epochs of {} steps (batch {}), lr {} with {} warm-up steps", ctx.stage, n,
                 s.epochs, steps_per_epoch, s.batch_size, s.learning_rate, warmup);

    // Writes a checkpoint at the current position: `batch` batches into epoch `epoch`, where
    // `epoch_rng` is the data-order generator before that epoch's order was drawn.
    auto checkpoint = [&](int64_t at_epoch, int64_t batch, const std::string& epoch_rng) {
        TrainingState state;
        state.stage = ctx.stage;
        state.epoch = at_epoch;
        state.batch = batch;
        state.step = step;
        state.metrics_bytes = ctx.log.size();
        state.shuffle_rng = epoch_rng;
        if (scaler) state.loss_scaler = scaler->state();
        state.last_eval = last_eval;
        if (batch > 0) state.window = window.to_json();
        if (ctx.checkpoint_fields) state.extra = ctx.checkpoint_fields();
        return save_checkpoint(ctx.checkpoint_dir, state, ctx.model, optimizer, s.keep_checkpoints);
    };

    data::EvalOptions eval_options{s.eval_batch_size, ctx.device, false, ctx.eval_forward};
    auto event = [&](const char* kind, int64_t ep, int64_t st) {
        nlohmann::ordered_json e{{"event", kind}, {"stage", ctx.stage}, {"epoch", ep}, {"step", ctx.step_offset + st}};
        for (auto& [k, v] : ctx.event_fields.items()) e[k] = v;
        return e;
    };
    const auto stage_start = Clock::now();
    const int64_t first_step = step;
    const bool count_syncs = host_sync_counting();
    for (; epoch < epochs && step < total_steps; ++epoch) {
        std::ostringstream epoch_rng;  // before this epoch's order: what a checkpoint inside it records
        epoch_rng << shuffle;
        const int64_t first_batch = resume_batch;
        resume_batch = 0;
        if (first_batch == 0) {
            if (ctx.on_epoch_start) ctx.on_epoch_start(epoch, ctx.step_offset + step);
            window = ProgressWindow();
        }
        ctx.model->train();
        const auto order = permutation(n, shuffle);
        int64_t window_syncs_from = host_syncs();
        auto window_start = Clock::now();
        for (int64_t b = first_batch; b < steps_per_epoch && step < total_steps; ++b) {
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
                if (!finite) ++window.skipped;
            } else {
                loss.loss.backward();
            }
            if (finite) {  // a float16 step with inf/NaN gradients is skipped, as GradScaler does
                if (ctx.after_backward) ctx.after_backward(ctx.step_offset + step);
                optimizer.step(s.max_grad_norm);
            }
            ++step;
            window.add(loss, batch.examples);
            if (step % s.log_every == 0 || step == total_steps) {
                const double seconds = std::chrono::duration<double>(Clock::now() - window_start).count();
                const double per_step =
                    std::chrono::duration<double>(Clock::now() - stage_start).count() / double(step - first_step);
                const double rate = window.examples / std::max(seconds, 1e-9);
                spdlog::info("{} epoch {}/{} step {}/{} loss {:.4f} lr {:.3g} {:.1f} examples/s, {} left", ctx.stage,
                             epoch + 1, epochs, step, total_steps, window.loss / window.steps, lr, rate,
                             duration_text(per_step * double(total_steps - step)));
                auto e = event("train", epoch + 1, step);
                e["loss"] = window.loss / window.steps;
                for (const auto& [name, sum] : window.terms) e[name] = sum / window.steps;
                e["learning_rate"] = lr;
                e["examples_per_second"] = rate;
                if (scaler) {
                    e["loss_scale"] = scaler->state().scale;
                    e["skipped_steps"] = window.skipped;
                }
                if (count_syncs) e["host_syncs_per_step"] = double(host_syncs() - window_syncs_from) / window.steps;
                ctx.log.write(e);
                window = ProgressWindow();
                window_start = Clock::now();
                window_syncs_from = host_syncs();
            }
            // Inside the epoch (its last step is followed by the evaluation and the epoch's own
            // checkpoint): every checkpoint_every_steps, and when asked to stop.
            const bool inside = b + 1 < steps_per_epoch && step < total_steps;
            const bool periodic = s.checkpoint_every_steps > 0 && step % s.checkpoint_every_steps == 0;
            if (inside && ctx.checkpoints && (periodic || util::stop_requested())) {
                const auto folder = checkpoint(epoch, b + 1, epoch_rng.str());
                if (util::stop_requested()) {
                    spdlog::warn(
                        "{}: {} received: stopped after step {} with checkpoint {}; continue with cap run "
                        "--resume",
                        ctx.stage, util::stop_signal_name(), ctx.step_offset + step, folder.string());
                    throw util::Interrupted{util::stop_signal_name()};
                }
            }
            util::fault_point((ctx.stage + ".step").c_str(), ctx.step_offset + step);
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
        if (ctx.checkpoints) {
            std::ostringstream next_rng;
            next_rng << shuffle;
            const auto folder = checkpoint(epoch + 1, 0, next_rng.str());
            if (util::stop_requested()) {
                spdlog::warn(
                    "{}: {} received: stopped after epoch {} with checkpoint {}; continue with cap run "
                    "--resume",
                    ctx.stage, util::stop_signal_name(), epoch + 1, folder.string());
                throw util::Interrupted{util::stop_signal_name()};
            }
        }
        util::fault_point((ctx.stage + ".epoch").c_str(), epoch + 1);
    }
    return last_eval;
}

}  // namespace cap::train
