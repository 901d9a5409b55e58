#include "settings/task.hpp"

namespace cap::settings {

const std::vector<std::string>& task_names() {
    static const std::vector<std::string> names = {"sst2", "mnli", "qqp",   "qnli",     "rte",
                                                   "wnli", "mrpc", "squad", "synthetic"};
    return names;
}

}  // namespace cap::settings
