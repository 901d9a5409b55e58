#include "util/run_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace cap::util {

namespace {

long read_pid(int fd) {
    char buf[32] = {};
    const ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
    return n > 0 ? std::strtol(buf, nullptr, 10) : 0;
}

std::string holder_text(long pid) { return pid > 0 ? "cap (PID " + std::to_string(pid) + ")" : "another cap"; }

}  // namespace

namespace {

// The folder of the lock this process holds (one at a time: a sweep runs its cells in turn).
struct HeldFolder {
    fs::path dir;
    dev_t device = 0;
    ino_t inode = 0;
};
std::optional<HeldFolder> g_held;

}  // namespace

void check_run_folder() {
    if (!g_held) return;
    struct stat now {};
    if (::stat(g_held->dir.c_str(), &now) != 0 || now.st_dev != g_held->device || now.st_ino != g_held->inode)
        throw std::runtime_error("run folder " + g_held->dir.string() +
                                 " was deleted or replaced while the run was writing to it; stopping (nothing is "
                                 "recreated)");
}

RunLock::RunLock(const fs::path& dir) : lock_(dir / kRunLockFile) {
    if (!lock_.try_lock())
        throw RunFolderBusy("run folder " + dir.string() + " is in use by " + holder_text(read_pid(lock_.fd())) +
                            ", which is still running: one writer per run folder; wait for it, or stop it "
                            "first (a killed run's folder is free again)");
    const std::string pid = std::to_string(static_cast<long>(::getpid())) + "\n";
    if (::ftruncate(lock_.fd(), 0) != 0 ||
        ::pwrite(lock_.fd(), pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
        // The lock holds without the PID; only the busy message would be vaguer.
    }
    struct stat folder {};
    if (::stat(dir.c_str(), &folder) == 0) g_held = HeldFolder{dir, folder.st_dev, folder.st_ino};
}

RunLock::~RunLock() { g_held.reset(); }  // lock_ lets go; the file stays for the next run to take

std::optional<long> run_lock_holder(const fs::path& dir) {
    const int fd = ::open((dir / kRunLockFile).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    std::optional<long> holder;
    if (::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK) holder = read_pid(fd);
    ::close(fd);  // a shared lock taken just now goes with it
    return holder;
}

bool holds_nothing(const fs::path& dir) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        const std::string name = e.path().filename().string();
        if (name != kRunLockFile && name.find(".tmp-") == std::string::npos) return false;
    }
    return !ec;
}

int remove_write_leftovers(const fs::path& dir) {
    std::error_code ec;
    std::vector<fs::path> leftovers;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec))
        if (it->is_regular_file(ec) && it->path().filename().string().find(".tmp-") != std::string::npos)
            leftovers.push_back(it->path());
    int removed = 0;
    for (const auto& p : leftovers) removed += fs::remove(p, ec) ? 1 : 0;
    return removed;
}

}  // namespace cap::util
