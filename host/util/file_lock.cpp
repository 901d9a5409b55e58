#include "util/file_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace cap::util {

FileLock::FileLock(const std::filesystem::path& file) : file_(file) {
    fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) throw std::runtime_error(file.string() + ": cannot open the lock file: " + std::strerror(errno));
}

FileLock::~FileLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the lock
}

bool FileLock::try_lock() {
    while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EINTR) continue;
        if (errno == EWOULDBLOCK) return false;
        throw std::runtime_error(file_.string() + ": cannot lock: " + std::strerror(errno));
    }
    return true;
}

void FileLock::lock() {
    while (::flock(fd_, LOCK_EX) != 0)
        if (errno != EINTR) throw std::runtime_error(file_.string() + ": cannot lock: " + std::strerror(errno));
}

}  // namespace cap::util
