#include "plugins/email/server/message_walk.h"

#include <utility>

namespace post::email {
namespace {

class Walk : public std::enable_shared_from_this<Walk> {
 public:
  Walk(MessageLoader& loader, std::vector<WalkItem> items, LoadNeed need,
       std::function<void(const WalkItem&, const LoadedMessage*)> each,
       std::function<void(std::optional<IoError>)> done, std::weak_ptr<bool> alive)
      : loader_(loader),
        items_(std::move(items)),
        need_(need),
        each_(std::move(each)),
        done_(std::move(done)),
        alive_(std::move(alive)) {}

  // Runs items until one waits for the store; its completion calls run() again.
  void run() {
    while (next_ < items_.size()) {
      if (alive_.expired()) return;
      const WalkItem& item = items_[next_];
      if (need_ == LoadNeed::kNothing) {
        each_(item, nullptr);
        ++next_;
        continue;
      }
      auto state = std::make_shared<int>(0);  // 0: waiting, 1: done at once, 2: async
      auto self = shared_from_this();
      loader_.load(item.message.ref, need_ == LoadNeed::kEverything,
                   [self, state](IoResult<std::shared_ptr<const LoadedMessage>> r) {
                     if (self->alive_.expired()) return;
                     if (!r.ok()) {
                       self->failed(r.error());
                       return;
                     }
                     self->each_(self->items_[self->next_], r->get());
                     ++self->next_;
                     if (*state == 2) {
                       self->run();
                     } else {
                       *state = 1;
                     }
                   });
      if (failed_) return;
      if (*state == 0) {
        *state = 2;
        return;
      }
    }
    if (alive_.expired() || finished_) return;
    finished_ = true;
    done_(std::nullopt);
  }

 private:
  void failed(const IoError& e) {
    failed_ = true;
    if (finished_) return;
    finished_ = true;
    done_(e);
  }

  MessageLoader& loader_;
  std::vector<WalkItem> items_;
  LoadNeed need_;
  std::function<void(const WalkItem&, const LoadedMessage*)> each_;
  std::function<void(std::optional<IoError>)> done_;
  std::weak_ptr<bool> alive_;
  std::size_t next_ = 0;
  bool failed_ = false;
  bool finished_ = false;
};

}  // namespace

void walk_messages(MessageLoader& loader, std::vector<WalkItem> items, LoadNeed need,
                   std::function<void(const WalkItem&, const LoadedMessage*)> each,
                   std::function<void(std::optional<IoError>)> done, std::weak_ptr<bool> alive) {
  std::make_shared<Walk>(loader, std::move(items), need, std::move(each), std::move(done),
                         std::move(alive))
      ->run();
}

}  // namespace post::email
