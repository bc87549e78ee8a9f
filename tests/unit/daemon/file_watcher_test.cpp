#include "host/daemon/file_watcher.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>

#include <boost/asio/io_context.hpp>

#include "tests/support/test_support.h"

namespace post::daemon {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::run_until;
using testing::TempDir;

class FileWatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto w = FileWatcher::create(io_, 200ms, [this](const std::set<fs::path>& changed) {
      ++calls_;
      seen_.insert(changed.begin(), changed.end());
    });
    ASSERT_TRUE(w.ok()) << w.error().to_string();
    watcher_ = std::move(*w);
    std::ofstream(a_) << "a";
    std::ofstream(b_) << "b";
    std::ofstream(other_) << "other";
    ASSERT_TRUE(watcher_->watch({a_, b_}).ok());
  }

  // Runs the executor for a while: long enough for a debounced callback to come.
  void settle() {
    io_.run_for(600ms);
    io_.restart();
  }

  boost::asio::io_context io_;
  TempDir dir_;
  fs::path a_ = fs::path(dir_.file("a.so"));
  fs::path b_ = fs::path(dir_.file("b.yaml"));
  fs::path other_ = fs::path(dir_.file("other"));
  std::unique_ptr<FileWatcher> watcher_;
  int calls_ = 0;
  std::set<fs::path> seen_;
};

TEST_F(FileWatcherTest, AFileWrittenInPlaceIsReported) {
  std::ofstream(a_) << "new contents";
  ASSERT_TRUE(run_until(io_, [&] { return calls_ == 1; }));
  EXPECT_EQ(seen_, std::set<fs::path>{a_});
}

TEST_F(FileWatcherTest, AFileReplacedByARenameIsReported) {
  fs::path tmp = dir_.file(".b.yaml.tmp");
  std::ofstream(tmp) << "edited";
  fs::rename(tmp, b_);
  ASSERT_TRUE(run_until(io_, [&] { return calls_ == 1; }));
  EXPECT_EQ(seen_, std::set<fs::path>{b_});
}

TEST_F(FileWatcherTest, AFileDeletedAndCreatedAgainIsReported) {
  fs::remove(a_);
  std::ofstream(a_) << "relinked";
  ASSERT_TRUE(run_until(io_, [&] { return calls_ >= 1; }));
  EXPECT_EQ(seen_, std::set<fs::path>{a_});
}

TEST_F(FileWatcherTest, ChangesInQuickSuccessionComeAsOneCall) {
  for (int i = 0; i < 5; ++i) {
    std::ofstream(a_) << "chunk " << i;
    std::ofstream(b_) << "edit " << i;
    io_.run_for(10ms);
    io_.restart();
  }
  settle();
  EXPECT_EQ(calls_, 1);
  EXPECT_EQ(seen_, (std::set<fs::path>{a_, b_}));
}

TEST_F(FileWatcherTest, OtherFilesInTheDirectoryAndUnwatchedFilesAreIgnored) {
  std::ofstream(other_) << "changed";
  settle();
  EXPECT_EQ(calls_, 0);
  ASSERT_TRUE(watcher_->watch({b_}).ok());
  std::ofstream(a_) << "no longer watched";
  settle();
  EXPECT_EQ(calls_, 0);
}

TEST_F(FileWatcherTest, ADirectoryThatCannotBeWatchedIsNamed) {
  auto s = watcher_->watch({fs::path(dir_.file("missing/dir/x.so"))});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("missing/dir"), std::string::npos) << s.error().message;
  // What was watched stays watched.
  std::ofstream(a_) << "still watched";
  ASSERT_TRUE(run_until(io_, [&] { return calls_ == 1; }));
}

}  // namespace
}  // namespace post::daemon
