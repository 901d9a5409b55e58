// An advisory lock (flock) on one file, held while the object lives. The kernel drops it when
// the process dies, however it dies; the file itself stays behind for the next holder.
#pragma once

#include <filesystem>

namespace cap::util {

class FileLock {
public:
    // Opens `file`, creating it if missing; takes no lock yet. Throws std::runtime_error naming it.
    explicit FileLock(const std::filesystem::path& file);
    ~FileLock();
    FileLock(const FileLock&) = delete;
    FileLock& operator=(const FileLock&) = delete;

    // Takes the lock if no other holder has it; false when one does. Throws on other failures.
    bool try_lock();
    // Takes the lock, waiting for another holder to let go. Throws on failure.
    void lock();
    // The open file, for a holder that records something in it (a PID).
    int fd() const { return fd_; }

private:
    std::filesystem::path file_;
    int fd_ = -1;
};

}  // namespace cap::util
