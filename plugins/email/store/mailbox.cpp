#include "plugins/email/store/mailbox.h"

#include <utility>

namespace post::email::store {
namespace {

// Whether `name` lies strictly below `parent` in the hierarchy.
bool is_below(std::string_view name, std::string_view parent) {
  return name.size() > parent.size() + 1 && name.substr(0, parent.size()) == parent &&
         name[parent.size()] == kHierarchyDelimiter;
}

}  // namespace

Mailbox::Mailbox() {
  folders_.emplace(kInboxName, kInitialInboxUidValidity);
}

std::string fold_address(std::string_view address) {
  std::string out(address);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + ('a' - 'A'));
  }
  return out;
}

StoreStatus Mailbox::apply(const MailRecord& record, std::uint64_t index) {
  if (last_index_ && index <= *last_index_) {
    return store_error(StoreErrc::kOutOfOrder, "log index not above the last applied one");
  }
  last_index_ = index;
  if (const auto* r = std::get_if<CreateFolder>(&record)) return create(*r);
  if (const auto* r = std::get_if<DeleteFolder>(&record)) return remove(*r);
  if (const auto* r = std::get_if<RenameFolder>(&record)) return rename(*r);
  if (const auto* r = std::get_if<Subscribe>(&record)) {
    std::string name = canonical_folder_name(r->name);
    if (r->on) {
      subscriptions_.insert(std::move(name));
    } else {
      subscriptions_.erase(name);
    }
    return store_ok();
  }
  if (const auto* r = std::get_if<Block>(&record)) {
    std::string address = fold_address(r->address);
    if (r->on) {
      blocked_.insert(std::move(address));
    } else {
      blocked_.erase(address);
    }
    return store_ok();
  }
  return store_error(StoreErrc::kNotForThisLog, "a folder record in the folder-list log");
}

void Mailbox::use_uidvalidity(std::uint32_t uidvalidity) {
  next_uidvalidity_ = std::uint64_t{uidvalidity} + 1;
}

StoreStatus Mailbox::create(const CreateFolder& record) {
  std::string name = canonical_folder_name(record.name);
  if (folders_.count(name) != 0) return store_error(StoreErrc::kFolderExists, "folder exists");
  if (record.uidvalidity < next_uidvalidity_) {
    return store_error(StoreErrc::kStaleUidValidity, "UIDVALIDITY used before");
  }
  folders_.emplace(std::move(name), record.uidvalidity);
  use_uidvalidity(record.uidvalidity);
  return store_ok();
}

StoreStatus Mailbox::remove(const DeleteFolder& record) {
  std::string name = canonical_folder_name(record.name);
  if (name == kInboxName) return store_error(StoreErrc::kInboxIsPermanent, "INBOX stays");
  if (folders_.erase(name) == 0) return store_error(StoreErrc::kNoSuchFolder, "no such folder");
  return store_ok();
}

StoreStatus Mailbox::rename(const RenameFolder& record) {
  std::string from = canonical_folder_name(record.from);
  std::string to = canonical_folder_name(record.to);
  auto source = folders_.find(from);
  if (source == folders_.end()) return store_error(StoreErrc::kNoSuchFolder, "no such folder");
  if (folders_.count(to) != 0) return store_error(StoreErrc::kFolderExists, "target exists");

  if (from == kInboxName) {
    if (record.new_inbox_uidvalidity < next_uidvalidity_) {
      return store_error(StoreErrc::kStaleUidValidity, "UIDVALIDITY used before");
    }
    folders_.emplace(to, source->second);
    source->second = record.new_inbox_uidvalidity;
    use_uidvalidity(record.new_inbox_uidvalidity);
    return store_ok();
  }
  if (is_below(to, from)) return store_error(StoreErrc::kBadName, "rename below itself");

  // The folder and its inferiors, under their new names; all checked before any changes.
  std::vector<std::pair<std::string, std::string>> moves;
  for (const auto& [name, uidvalidity] : folders_) {
    if (name != from && !is_below(name, from)) continue;
    std::string renamed = to + name.substr(from.size());
    if (!is_valid_folder_name(renamed)) {
      return store_error(StoreErrc::kBadName, "a renamed inferior would be too long or deep");
    }
    if (canonical_folder_name(renamed) != renamed || folders_.count(renamed) != 0) {
      return store_error(StoreErrc::kFolderExists, "a renamed inferior exists");
    }
    moves.emplace_back(name, std::move(renamed));
  }
  for (auto& [old_name, new_name] : moves) {
    auto node = folders_.extract(old_name);
    node.key() = std::move(new_name);
    folders_.insert(std::move(node));
  }
  return store_ok();
}

std::optional<std::uint32_t> Mailbox::uidvalidity(std::string_view name) const {
  auto it = folders_.find(canonical_folder_name(name));
  if (it == folders_.end()) return std::nullopt;
  return it->second;
}

bool Mailbox::has_inferiors(std::string_view name) const {
  std::string parent = canonical_folder_name(name);
  for (auto it = folders_.upper_bound(parent); it != folders_.end(); ++it) {
    if (is_below(it->first, parent)) return true;
    if (it->first.compare(0, parent.size(), parent) != 0) break;
  }
  return false;
}

bool Mailbox::subscribed(std::string_view name) const {
  return subscriptions_.count(canonical_folder_name(name)) != 0;
}

bool Mailbox::is_blocked(std::string_view address) const {
  return blocked_.count(fold_address(address)) != 0;
}

std::uint32_t Mailbox::next_uidvalidity() const {
  return next_uidvalidity_ > 0xFFFFFFFFu ? 0 : static_cast<std::uint32_t>(next_uidvalidity_);
}

}  // namespace post::email::store
