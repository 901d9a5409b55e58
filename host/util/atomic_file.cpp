#include "util/atomic_file.hpp"

#include "util/run_lock.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace cap::util {

namespace {
[[noreturn]] void fail(const std::filesystem::path& path, const char* what) {
    throw std::runtime_error("cannot write " + path.string() + ": " + what + ": " + std::strerror(errno));
}
}  // namespace

void write_file_atomic(const std::filesystem::path& path, std::string_view contents) {
    check_run_folder();
    std::string tmp = path.string() + ".tmp-XXXXXX";
    int fd = mkstemp(tmp.data());
    if (fd < 0) fail(path, "create temporary file");
    size_t done = 0;
    while (done < contents.size()) {
        ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            ::close(fd);
            ::unlink(tmp.c_str());
            fail(path, "write");
        }
        done += static_cast<size_t>(n);
    }
    // mkstemp creates 0600; outputs are ordinary files.
    if (::fchmod(fd, 0644) != 0 || ::fsync(fd) != 0) {
        ::close(fd);
        ::unlink(tmp.c_str());
        fail(path, "flush");
    }
    if (::close(fd) != 0) {
        ::unlink(tmp.c_str());
        fail(path, "close");
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        ::unlink(tmp.c_str());
        fail(path, "rename");
    }
}

}  // namespace cap::util
