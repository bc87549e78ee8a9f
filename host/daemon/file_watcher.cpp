#include "host/daemon/file_watcher.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "host/core/errors.h"

namespace post::daemon {

namespace fs = std::filesystem;

namespace {

// What counts as a change: written and closed, renamed into place, created (a linker's new
// file), or removed (the next create follows). IN_MODIFY only re-arms the timer while a slow
// copy is still writing.
constexpr std::uint32_t kMask =
    IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_MODIFY | IN_ATTRIB;

fs::path absolute_normal(const fs::path& p) {
  std::error_code ec;
  fs::path abs = fs::absolute(p, ec);
  return (ec ? p : abs).lexically_normal();
}

}  // namespace

Result<std::unique_ptr<FileWatcher>> FileWatcher::create(boost::asio::io_context& io,
                                                         net::Duration debounce,
                                                         Callback on_change) {
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    return make_error(CoreErrc::kIoError,
                      std::string("cannot watch files (inotify_init1): ") + std::strerror(errno));
  }
  std::unique_ptr<FileWatcher> w(new FileWatcher(io, fd, debounce, std::move(on_change)));
  w->read_next();
  return w;
}

FileWatcher::FileWatcher(boost::asio::io_context& io, int fd, net::Duration debounce,
                         Callback on_change)
    : inotify_(io, fd), timer_(io), debounce_(debounce), on_change_(std::move(on_change)) {}

FileWatcher::~FileWatcher() {
  boost::system::error_code ec;
  timer_.cancel();
  inotify_.close(ec);
}

Status FileWatcher::watch(const std::vector<fs::path>& files) {
  std::set<fs::path> wanted_files;
  std::set<fs::path> wanted_dirs;
  for (const auto& f : files) {
    fs::path abs = absolute_normal(f);
    wanted_files.insert(abs);
    wanted_dirs.insert(abs.parent_path());
  }
  std::map<int, fs::path> dirs;
  for (const auto& dir : wanted_dirs) {
    // inotify hands back the same descriptor for a directory already watched.
    int wd = ::inotify_add_watch(inotify_.native_handle(), dir.c_str(), kMask);
    if (wd < 0) {
      int e = errno;
      return make_error(CoreErrc::kIoError,
                        "cannot watch " + dir.string() + ": " + std::strerror(e));
    }
    dirs[wd] = dir;
  }
  for (const auto& [wd, dir] : dirs_) {
    if (!dirs.contains(wd)) ::inotify_rm_watch(inotify_.native_handle(), wd);
  }
  dirs_ = std::move(dirs);
  files_ = std::move(wanted_files);
  return {};
}

void FileWatcher::read_next() {
  inotify_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                      [this, alive = std::weak_ptr<char>(alive_)](boost::system::error_code ec) {
                        if (ec || alive.expired()) return;
                        on_readable();
                        read_next();
                      });
}

void FileWatcher::on_readable() {
  alignas(struct inotify_event) std::array<char, 16 * 1024> buffer;
  bool changed = false;
  while (true) {
    ssize_t n = ::read(inotify_.native_handle(), buffer.data(), buffer.size());
    if (n <= 0) break;  // EAGAIN: drained
    for (ssize_t off = 0; off + static_cast<ssize_t>(sizeof(inotify_event)) <= n;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buffer.data() + off);
      off += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
      if (event->len == 0) continue;
      auto dir = dirs_.find(event->wd);
      if (dir == dirs_.end()) continue;
      fs::path file = dir->second / std::string(event->name);
      if (!files_.contains(file)) continue;
      pending_.insert(file);
      changed = true;
    }
  }
  if (!changed) return;
  timer_.expires_after(debounce_);
  timer_.async_wait([this, alive = std::weak_ptr<char>(alive_)](boost::system::error_code ec) {
    if (ec || alive.expired() || pending_.empty()) return;
    std::set<fs::path> changed_files;
    changed_files.swap(pending_);
    on_change_(changed_files);
  });
}

}  // namespace post::daemon
