#include "tools/post-sim/ring_oracle.h"

#include <algorithm>
#include <cassert>
#include <set>

namespace post::sim {
namespace {

// Problems kept verbatim per check; the counters hold the rest.
constexpr std::size_t kMaxProblems = 8;
// Ids listed per kind of leaf set difference; the rest are counted.
constexpr std::size_t kMaxIdsListed = 3;

// Width in bits of digit `row` in base 2^b: b, except for a last, narrower digit.
int digit_width(int row, int b) {
  return std::min(b, Id::kBits - row * b);
}

// `id` with its first `keep_bits` bits kept and every later bit set to `fill`.
Id fill_after(const Id& id, int keep_bits, bool fill) {
  Id::Array bytes = id.bytes();
  for (int bit = keep_bits; bit < Id::kBits; ++bit) {
    auto mask = static_cast<std::uint8_t>(0x80 >> (bit % 8));
    if (fill) {
      bytes[bit / 8] |= mask;
    } else {
      bytes[bit / 8] &= static_cast<std::uint8_t>(~mask);
    }
  }
  return Id(bytes);
}

bool by_id(const NodeHandle& a, const NodeHandle& b) {
  return a.id < b.id;
}

}  // namespace

RingOracle::RingOracle(std::vector<NodeHandle> members) : members_(std::move(members)) {
  std::sort(members_.begin(), members_.end(), by_id);
  assert(std::adjacent_find(members_.begin(), members_.end(),
                            [](const NodeHandle& a, const NodeHandle& b) {
                              return a.id == b.id;
                            }) == members_.end());
}

std::size_t RingOracle::lower_bound(const Id& id) const {
  auto it = std::lower_bound(members_.begin(), members_.end(), id,
                             [](const NodeHandle& m, const Id& key) { return m.id < key; });
  return static_cast<std::size_t>(it - members_.begin());
}

bool RingOracle::contains(const Id& id) const {
  std::size_t i = lower_bound(id);
  return i < members_.size() && members_[i].id == id;
}

const NodeHandle& RingOracle::closest(const Id& key) const {
  assert(!members_.empty());
  // The closest member is the first at or after the key or the last before it, wrapping.
  std::size_t n = members_.size();
  std::size_t after = lower_bound(key) % n;
  std::size_t before = (after + n - 1) % n;
  const NodeHandle& a = members_[after];
  const NodeHandle& b = members_[before];
  return is_closer(key, b.id, a.id) ? b : a;
}

std::vector<NodeHandle> RingOracle::clockwise_from(const Id& from, std::size_t count) const {
  std::size_t n = members_.size();
  std::size_t others = n - (contains(from) ? 1 : 0);
  count = std::min(count, others);
  std::vector<NodeHandle> out;
  out.reserve(count);
  std::size_t i = lower_bound(from);
  for (std::size_t step = 0; out.size() < count; ++step) {
    const NodeHandle& m = members_[(i + step) % n];
    if (m.id != from) out.push_back(m);
  }
  return out;
}

std::vector<NodeHandle> RingOracle::counter_clockwise_from(const Id& from,
                                                           std::size_t count) const {
  std::size_t n = members_.size();
  std::size_t others = n - (contains(from) ? 1 : 0);
  count = std::min(count, others);
  std::vector<NodeHandle> out;
  out.reserve(count);
  std::size_t i = lower_bound(from);
  for (std::size_t step = 1; out.size() < count; ++step) {
    const NodeHandle& m = members_[(i + n - step % n) % n];
    if (m.id != from) out.push_back(m);
  }
  return out;
}

bool RingOracle::slot_fillable(const Id& self, int digit_bits, int row, int column) const {
  if (row < 0 || row >= Id::digit_count(digit_bits)) return false;
  if (column < 0 || column >= (1 << digit_width(row, digit_bits))) return false;
  if (column == self.digit(row, digit_bits)) return false;
  Id prefix = self.with_digit(row, digit_bits, column);
  int prefix_bits = row * digit_bits + digit_width(row, digit_bits);
  Id low = fill_after(prefix, prefix_bits, false);
  Id high = fill_after(prefix, prefix_bits, true);
  std::size_t i = lower_bound(low);
  return i < members_.size() && members_[i].id <= high;
}

int RingOracle::rows_in_use(const Id& self, int digit_bits) const {
  // The longest shared prefix is with a neighbour in id order.
  std::size_t n = members_.size();
  int longest = -1;
  std::size_t i = lower_bound(self);
  for (std::size_t candidate : {i, i + 1, i + n - 1}) {
    if (n == 0) break;
    const NodeHandle& m = members_[candidate % n];
    if (m.id == self) continue;
    longest = std::max(longest, self.shared_prefix_length(m.id, digit_bits));
  }
  return std::min(longest + 1, Id::digit_count(digit_bits));
}

std::string LeafSetCheck::describe() const {
  std::string out;
  auto add = [&out](const std::string& text) {
    if (!out.empty()) out += ", ";
    out += text;
  };
  const std::string closest = "the " + std::to_string(half) + " closest ";
  for (const auto& [side_binding, name_binding] :
       {std::pair{&clockwise, "clockwise"}, std::pair{&counter_clockwise, "counter-clockwise"}}) {
    // Copies: a lambda cannot capture structured bindings before C++20 in clang 14.
    const auto* side = side_binding;
    const char* name = name_binding;
    auto list = [&](const char* verb, const std::vector<Id>& ids, const char* among) {
      if (ids.empty()) return;
      std::string text = verb;
      for (std::size_t i = 0; i < ids.size() && i < kMaxIdsListed; ++i) {
        text += ' ' + ids[i].short_hex();
      }
      if (ids.size() > kMaxIdsListed) {
        text += " and " + std::to_string(ids.size() - kMaxIdsListed) + " more";
      }
      add(text + " (" + among + closest + name + ")");
    };
    list("misses", side->missing, "among ");
    list("holds", side->unexpected, "not among ");
    if (side->misordered) add(std::string(name) + " side out of order");
  }
  return out.empty() ? "exact" : out;
}

LeafSetCheck check_leaf_set(const RingOracle& oracle, const Id& self, int leaf_set_size,
                            const std::vector<NodeHandle>& clockwise,
                            const std::vector<NodeHandle>& counter_clockwise) {
  LeafSetCheck check;
  check.half = static_cast<std::size_t>(leaf_set_size / 2);
  auto compare = [](const std::vector<NodeHandle>& actual, const std::vector<NodeHandle>& expected,
                    LeafSetCheck::Side& side) {
    std::set<Id> want;
    std::set<Id> have;
    for (const NodeHandle& h : expected) want.insert(h.id);
    for (const NodeHandle& h : actual) have.insert(h.id);
    for (const Id& id : want) {
      if (!have.contains(id)) side.missing.push_back(id);
    }
    for (const Id& id : have) {
      if (!want.contains(id)) side.unexpected.push_back(id);
    }
    side.misordered =
        want == have &&
        !std::equal(actual.begin(), actual.end(), expected.begin(), expected.end(),
                    [](const NodeHandle& a, const NodeHandle& b) { return a.id == b.id; });
  };
  compare(clockwise, oracle.clockwise_from(self, check.half), check.clockwise);
  compare(counter_clockwise, oracle.counter_clockwise_from(self, check.half),
          check.counter_clockwise);
  return check;
}

RoutingTableCheck& RoutingTableCheck::operator+=(const RoutingTableCheck& other) {
  entries += other.entries;
  dead += other.dead;
  misplaced += other.misplaced;
  fillable += other.fillable;
  filled += other.filled;
  for (const std::string& p : other.problems) {
    if (problems.size() < kMaxProblems) problems.push_back(p);
  }
  return *this;
}

RoutingTableCheck check_routing_table(const RingOracle& oracle, const Id& self, int digit_bits,
                                      const std::vector<RoutingSlot>& slots) {
  RoutingTableCheck check;
  auto problem = [&check](std::string text) {
    if (check.problems.size() < kMaxProblems) check.problems.push_back(std::move(text));
  };
  std::set<std::pair<int, int>> good;
  for (const RoutingSlot& slot : slots) {
    ++check.entries;
    std::string where = self.short_hex() + " [" + std::to_string(slot.row) + "][" +
                        std::to_string(slot.column) + "] = " + slot.node.short_hex();
    bool placed = slot.node != self && slot.row < Id::digit_count(digit_bits) &&
                  self.shared_prefix_length(slot.node, digit_bits) == slot.row &&
                  slot.node.digit(slot.row, digit_bits) == slot.column;
    bool live = oracle.contains(slot.node);
    if (!placed) {
      ++check.misplaced;
      problem(where + ": wrong slot");
    }
    if (!live) {
      ++check.dead;
      problem(where + ": not live");
    }
    if (placed && live) good.insert({slot.row, slot.column});
  }
  int rows = oracle.rows_in_use(self, digit_bits);
  for (int row = 0; row < rows; ++row) {
    int columns = 1 << digit_width(row, digit_bits);
    for (int column = 0; column < columns; ++column) {
      if (!oracle.slot_fillable(self, digit_bits, row, column)) continue;
      ++check.fillable;
      if (good.contains({row, column})) {
        ++check.filled;
      } else {
        problem(self.short_hex() + " [" + std::to_string(row) + "][" + std::to_string(column) +
                "]: empty but fillable");
      }
    }
  }
  return check;
}

}  // namespace post::sim
