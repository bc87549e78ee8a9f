#include "host/pastry/routing_table.h"

#include <cassert>

namespace post::pastry {

RoutingTable::RoutingTable(Id self, int digit_bits) : self_(self), b_(digit_bits) {
  assert(digit_bits >= 1 && digit_bits <= Id::kMaxDigitBits);
}

std::optional<std::pair<int, int>> RoutingTable::slot_of(const Id& node) const {
  int row = self_.shared_prefix_length(node, b_);
  if (row >= max_rows()) return std::nullopt;
  return std::pair{row, node.digit(row, b_)};
}

const RoutingEntry* RoutingTable::at(int row, int column) const {
  if (row < 0 || row >= rows()) return nullptr;
  const auto& slot = rows_[row][column];
  return slot ? &*slot : nullptr;
}

bool RoutingTable::consider(const NodeHandle& node, Duration rtt, bool prefer_rtt) {
  auto slot = slot_of(node.id);
  if (!slot) return false;
  auto [row, column] = *slot;
  if (row >= rows()) rows_.resize(row + 1, std::vector<std::optional<RoutingEntry>>(columns()));
  auto& entry = rows_[row][column];
  if (!entry) {
    entry = RoutingEntry{node, rtt};
    ++size_;
    return true;
  }
  if (entry->node.id == node.id) {
    bool changed = entry->node.address != node.address;
    entry->node.address = node.address;
    if (rtt != Duration::max()) entry->rtt = rtt;
    return changed;
  }
  if (prefer_rtt && rtt < entry->rtt) {
    entry = RoutingEntry{node, rtt};
    return true;
  }
  return false;
}

bool RoutingTable::remove(const Id& id) {
  auto slot = slot_of(id);
  if (!slot || slot->first >= rows()) return false;
  auto& entry = rows_[slot->first][slot->second];
  if (!entry || entry->node.id != id) return false;
  entry.reset();
  --size_;
  return true;
}

bool RoutingTable::contains(const Id& id) const {
  auto slot = slot_of(id);
  if (!slot) return false;
  const RoutingEntry* e = at(slot->first, slot->second);
  return e && e->node.id == id;
}

std::vector<NodeHandle> RoutingTable::row(int r) const {
  std::vector<NodeHandle> out;
  if (r < 0 || r >= rows()) return out;
  for (const auto& e : rows_[r]) {
    if (e) out.push_back(e->node);
  }
  return out;
}

std::vector<NodeHandle> RoutingTable::all() const {
  std::vector<NodeHandle> out;
  out.reserve(size_);
  for (const auto& r : rows_) {
    for (const auto& e : r) {
      if (e) out.push_back(e->node);
    }
  }
  return out;
}

std::vector<std::pair<int, int>> RoutingTable::holes() const {
  std::vector<std::pair<int, int>> out;
  for (int r = 0; r < rows(); ++r) {
    int own = self_.digit(r, b_);
    for (int c = 0; c < columns(); ++c) {
      if (c != own && !rows_[r][c]) out.emplace_back(r, c);
    }
  }
  return out;
}

}  // namespace post::pastry
