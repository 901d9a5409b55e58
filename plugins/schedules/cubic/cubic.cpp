// schedules/cubic: the movement-pruning threshold schedule (docs/algorithms.md §3), identical to
// the reference's schedule_threshold. With w = warmup_steps, t_i = initial_warmup * w and
// t_f = final_warmup * w, the threshold is the initial one up to step t_i, the final one after
// step T - t_f, and in between
//     final + (initial - final) * (1 - (t - t_i) / (T - t_i - t_f))^3.
// What the threshold means is the criterion's business: the kept fraction for top-k, the
// sigmoid threshold for soft movement.
#include "cap/plugin.hpp"

namespace {

class CubicSchedule : public cap::Schedule {
public:
    static cap::Metadata metadata() {
        return {
            "cubic",
            "1.0.0",
            "cubic threshold from initial to final between two warm-ups (movement pruning)",
            // Both criteria that follow a threshold read it in [0, 1]: top-k as the fraction kept,
            // soft movement as a bound on sigmoid(scores). 1.5 would keep everything forever.
            {cap::Option::Float("initial_threshold", 1.0, "threshold at the start (top-k: fraction kept)").range(0, 1),
             cap::Option::Float("final_threshold", 0.1, "threshold at the end, which evaluation uses").range(0, 1),
             cap::Option::Int("warmup_steps", 0,
                              "the unit of both warm-ups, in optimizer steps (the reference "
                              "passes its learning-rate warm-up, --warmup_steps)")
                 .min(0),
             cap::Option::Float("initial_warmup", 1.0, "warm-ups with the initial threshold").min(0),
             cap::Option::Float("final_warmup", 2.0, "warm-ups with the final threshold at the end").min(0)}};
    }

    CubicSchedule(const cap::Host&, const cap::Options& options)
        : initial_(options.get_float("initial_threshold")),
          final_(options.get_float("final_threshold")),
          warmup_(static_cast<double>(options.get_int("warmup_steps"))),
          initial_warmup_(options.get_float("initial_warmup")),
          final_warmup_(options.get_float("final_warmup")) {}

    void bind(const cap_model_shape&, const cap_constraints&) override {}
    uint32_t num_stages() override { return 0; }
    cap_stage stage(uint32_t index) override {
        cap::fail("the cubic schedule has no stages (asked for " + std::to_string(index) + ")");
    }

    cap_schedule_point at(const cap_progress& progress) override {
        cap_schedule_point p{};
        p.struct_size = sizeof(p);
        p.target_kind = CAP_TARGET_THRESHOLD;
        p.stage = -1;
        p.target = threshold(static_cast<double>(progress.step), static_cast<double>(progress.total_steps));
        p.final_target = final_;
        return p;
    }

private:
    double threshold(double t, double total) const {
        const double ti = initial_warmup_ * warmup_, tf = final_warmup_ * warmup_;
        if (t <= ti) return initial_;
        if (t > total - tf) return final_;
        const double x = 1.0 - (t - ti) / (total - ti - tf);
        return final_ + (initial_ - final_) * x * x * x;
    }

    double initial_, final_, warmup_, initial_warmup_, final_warmup_;
};

}  // namespace

CAP_PLUGIN(CubicSchedule)
