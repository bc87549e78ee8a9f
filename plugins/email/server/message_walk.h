// Visiting messages of a folder one after another, loading each first as much as the visitor
// needs (nothing, the header block, or everything) through the MessageLoader. Loads that
// complete at once (cache hits, inline layouts) are handled in a loop, not by recursion, so a
// walk over a large folder uses constant stack.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "plugins/email/server/stored_message.h"
#include "plugins/email/store/folder.h"

namespace post::email {

enum class LoadNeed { kNothing, kHeader, kEverything };

struct WalkItem {
  std::uint32_t sequence = 0;
  store::Message message;  // a copy: the folder may change while the walk waits
};

// Calls `each(item, loaded)` for every item in order (loaded is null for kNothing), then
// `done` with nothing or the first load error (the walk stops there). `alive` expiring stops
// the walk silently.
void walk_messages(MessageLoader& loader, std::vector<WalkItem> items, LoadNeed need,
                   std::function<void(const WalkItem&, const LoadedMessage*)> each,
                   std::function<void(std::optional<IoError>)> done, std::weak_ptr<bool> alive);

}  // namespace post::email
