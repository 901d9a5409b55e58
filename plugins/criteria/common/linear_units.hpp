// From per-weight evidence to heads and FFN neurons, for structured criteria that look at the
// encoder's linears (ABI 1.2; the ownership rule is at the top of cap/criterion.h): head h owns
// rows [h * head_size, (h + 1) * head_size) of query, key and value and those columns of the
// attention output; FFN neuron j owns row j of the intermediate linear and column j of the output.
// Header-only; each plugin compiles its own copy.
#pragma once

#include <ATen/ATen.h>

#include <string>

#include "cap/plugin_torch.hpp"

namespace cap::criteria {

// A per-weight tensor [out, in] of one linear, summed into the units of its layer.
inline at::Tensor sum_per_unit(const at::Tensor& per_weight, int32_t role, int64_t head_size) {
    switch (role) {
        case CAP_LINEAR_QUERY:
        case CAP_LINEAR_KEY:
        case CAP_LINEAR_VALUE: return per_weight.sum(1).view({-1, head_size}).sum(1);
        case CAP_LINEAR_ATTENTION_OUTPUT: return per_weight.sum(0).view({-1, head_size}).sum(1);
        case CAP_LINEAR_INTERMEDIATE: return per_weight.sum(1);
        case CAP_LINEAR_OUTPUT: return per_weight.sum(0);
        default: cap::fail("a linear with unknown role " + std::to_string(role));
    }
}

// Structured group i's units ([layers, units], float32, on the mask's device) scored by adding
// `per_weight(linear, k)` ([out, in], for the k-th linear of the group) over the weights each unit
// owns. Fails, naming the group, when the host gave no linears (the criterion must ask for
// weights, weight gradients or input statistics in its needs).
template <class PerWeight>
at::Tensor unit_sums(cap::Groups groups, uint32_t i, PerWeight per_weight) {
    const cap_unit_group& g = groups[i];
    at::Tensor mask = cap::expect(g.mask, at::kFloat, 2, "mask");
    const auto linears = groups.linears(i);
    if (linears.empty())
        cap::fail(std::string("group ") + (g.name ? g.name : "") +
                  " came without its linears (a host older than ABI 1.2, or needs without weights)");
    at::Tensor out = at::zeros_like(mask);
    for (uint32_t k = 0; k < linears.size(); ++k) {
        const cap_unit_group& l = linears[k];
        if (l.layer < 0 || l.layer >= mask.size(0)) cap::fail(std::string("linear ") + l.name + " has no layer here");
        at::Tensor units = sum_per_unit(per_weight(l, k), l.linear_role, g.head_size > 0 ? g.head_size : 1);
        if (units.numel() != mask.size(1))
            cap::fail(std::string("linear ") + l.name + " gives " + std::to_string(units.numel()) + " units, the " +
                      (g.name ? g.name : "") + " mask has " + std::to_string(mask.size(1)) + " per layer");
        out[l.layer] += units.to(at::kFloat);
    }
    return out;
}

}  // namespace cap::criteria
