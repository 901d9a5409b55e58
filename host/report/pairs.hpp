// Paired differences: each pair a layout declares ([[pair]] method = "CAP-f", baseline =
// "first-order") compared run for run, a run of the method against the baseline's run with the
// same seed, in every block and column. What a reader needs to tell a gain from the seeds'
// spread: the mean difference, its sample standard deviation and a 95% interval for the mean.
#pragma once

#include <string>
#include <vector>

#include "report/table.hpp"

namespace cap::report {

struct PairedDifference {
    const PairSpec* pair = nullptr;
    double level = 0;
    size_t column = 0, metric = 0;
    std::vector<int64_t> seeds;         // the seeds both sides ran, in order
    std::vector<double> diffs;          // method - baseline, one per seed
    double mean = 0, stddev = 0;        // stddev: n - 1 (n >= 2)
    double low = 0, high = 0;           // 95% interval for the mean: Student's t, n - 1 degrees of freedom
    bool has_interval = false;          // n >= 2
    bool excludes_zero = false;         // the interval lies wholly above or below 0
    std::vector<std::string> unpaired;  // runs of either side whose seed the other side lacks
};

// Every (pair, block, column, metric) with at least one seed on both sides, or with runs left
// unpaired (n = 0 then).
std::vector<PairedDifference> paired_differences(const Table& table);

// The two-sided 95% quantile of Student's t with `dof` degrees of freedom (dof >= 1).
double student_t_975(int64_t dof);

std::string pairs_markdown(const Table& table, const std::vector<PairedDifference>& diffs);
std::string pairs_csv(const Table& table, const std::vector<PairedDifference>& diffs);

}  // namespace cap::report
