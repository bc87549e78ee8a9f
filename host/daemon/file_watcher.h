// FileWatcher: tells which of a set of files changed, through inotify, once they have been
// quiet for a while. postd uses it to reload a plugin whose shared object was rebuilt or
// copied over, and to apply edits of node.yaml's plugin list.
//
// It watches the files' directories, not the files, so a file replaced by a rename (how
// editors and `install` write), deleted and created again (how linkers write) or copied over
// in place is seen alike. Every change of a watched file re-arms the debounce timer; when it
// fires, the callback gets every file that changed since the last call.
//
// Threading: create, watch and the callback run on the io_context's thread.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "host/core/result.h"
#include "host/net/clock.h"

namespace post::daemon {

class FileWatcher {
 public:
  using Callback = std::function<void(const std::set<std::filesystem::path>& changed)>;

  // Fails (CoreErrc::kIoError) when inotify is not available.
  static Result<std::unique_ptr<FileWatcher>> create(boost::asio::io_context& io,
                                                     net::Duration debounce, Callback on_change);
  ~FileWatcher();
  FileWatcher(const FileWatcher&) = delete;
  FileWatcher& operator=(const FileWatcher&) = delete;

  // Watches exactly `files` from now on (their absolute, lexically normal paths are what the
  // callback reports). Fails, naming the directory, when a file's directory cannot be
  // watched; the files watched before stay watched then.
  Status watch(const std::vector<std::filesystem::path>& files);

  const std::set<std::filesystem::path>& files() const { return files_; }

 private:
  FileWatcher(boost::asio::io_context& io, int fd, net::Duration debounce, Callback on_change);
  void read_next();
  void on_readable();

  boost::asio::posix::stream_descriptor inotify_;
  boost::asio::steady_timer timer_;
  net::Duration debounce_;
  Callback on_change_;
  std::map<int, std::filesystem::path> dirs_;  // watch descriptor -> directory
  std::set<std::filesystem::path> files_;
  std::set<std::filesystem::path> pending_;
  std::shared_ptr<char> alive_ = std::make_shared<char>();
};

}  // namespace post::daemon
