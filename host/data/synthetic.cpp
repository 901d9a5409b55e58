#include "data/synthetic.hpp"

#include <random>

namespace cap::data {

namespace {
constexpr int32_t kCls = 101, kSep = 102, kFirstWord = 1000, kWords = 1000;
}

std::vector<SyntheticExample> synthetic_examples(int64_t count, uint64_t seed) {
    // The standard engine and a hand-written draw (not std::uniform_int_distribution, whose
    // output differs between standard libraries) keep the data identical everywhere.
    std::mt19937_64 rng(seed);
    auto below = [&](uint64_t n) { return rng() % n; };
    std::vector<SyntheticExample> out;
    out.reserve(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) {
        const int64_t length = 8 + static_cast<int64_t>(below(17));
        SyntheticExample e;
        e.input.ids.push_back(kCls);
        int balance = 0;
        for (int64_t w = 0; w < length; ++w) {
            const auto word = static_cast<int32_t>(below(kWords));
            if (word < kWords / 4)
                ++balance;
            else if (word < kWords / 2)
                --balance;
            e.input.ids.push_back(kFirstWord + word);
        }
        if (balance == 0) {  // break ties with one more positive word
            e.input.ids.push_back(kFirstWord + static_cast<int32_t>(below(kWords / 4)));
            balance = 1;
        }
        e.input.ids.push_back(kSep);
        e.input.types.assign(e.input.ids.size(), 0);
        e.label = balance > 0 ? 1 : 0;
        out.push_back(std::move(e));
    }
    return out;
}

}  // namespace cap::data
