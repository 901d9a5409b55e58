// One writer per run folder. A run holds an advisory lock (flock) on <dir>/.cap-run.lock for its
// lifetime; the file holds the holder's PID, for the message a second writer gets. The kernel
// drops the lock when the process dies, however it dies, so a killed run's folder is free again:
// its lock file stays behind and the next run takes it over.
#pragma once

#include <filesystem>
#include <optional>
#include <stdexcept>

#include "util/file_lock.hpp"

namespace cap::util {

inline constexpr const char* kRunLockFile = ".cap-run.lock";

// A second writer: the message names the folder and the holder's PID.
struct RunFolderBusy : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class RunLock {
public:
    // Takes the lock on `dir` (which must exist) or throws RunFolderBusy; other failures (an
    // unwritable folder) throw std::runtime_error.
    explicit RunLock(const std::filesystem::path& dir);
    ~RunLock();
    RunLock(const RunLock&) = delete;
    RunLock& operator=(const RunLock&) = delete;

private:
    FileLock lock_;
};

// While a RunLock is held: throws std::runtime_error when its folder was deleted or replaced
// since (another inode at the path), so a run whose folder is removed under it stops at its
// next write instead of writing into nothing or recreating the folder. write_file_atomic and
// metrics.jsonl call it; a no-op when no lock is held.
void check_run_folder();

// The PID holding `dir`'s lock now, if a live process holds it; takes nothing.
std::optional<long> run_lock_holder(const std::filesystem::path& dir);

// True when `dir` holds nothing but a run lock and temporary files: what a run killed before its
// first file leaves, which counts as an empty folder.
bool holds_nothing(const std::filesystem::path& dir);

// Removes what a killed writer leaves: temporary files of interrupted atomic writes (".tmp-"),
// anywhere under `dir`. Call with the lock held. Returns how many were removed.
int remove_write_leftovers(const std::filesystem::path& dir);

}  // namespace cap::util
