// Feeds arbitrary bytes to the YAML config reader, both through the generic checked view
// and as a whole node configuration. Nothing may crash, hang or throw; errors are expected.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "host/core/config.h"
#include "host/daemon/node_config.h"

namespace {

using post::config::Duration;
using post::config::Node;

// Reads `node` the ways a config reader does, descending through keys "a" and "b" and the
// elements of "s". `budget` bounds the walk: aliases can make the tree a graph, even a cycle.
void exercise(const Node& node, int& budget) {
  if (--budget < 0) return;
  (void)node.location();
  (void)node.path();
  (void)node.is_scalar();
  (void)node.is_sequence();
  (void)node.allow_only_keys({"a", "b", "s", "listen"});
  (void)node.has("a");
  (void)node.string("a");
  (void)node.string_or("b", "x");
  (void)node.integer("a", -100, 100);
  (void)node.integer_or("b", 0, 1 << 20, 7);
  (void)node.boolean_or("a", false);
  (void)node.duration("a", Duration::zero(), std::chrono::hours(1));
  (void)node.duration_or("b", std::chrono::milliseconds(1), Duration::max(), Duration(5));
  (void)node.choice_or("a", {"one", "two"}, "one");
  (void)node.string_list("s");
  (void)node.bad_value("a", "checked");
  for (std::string_view key : {"a", "b"}) {
    auto child = node.child_or_empty(key);
    if (child.ok()) exercise(*child, budget);
  }
  auto items = node.sequence("s");
  if (items.ok()) {
    for (const Node& item : *items) exercise(item, budget);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto root = Node::load_string(text, "fuzz.yaml");
  if (root.ok()) {
    int budget = 200;
    exercise(*root, budget);
  }
  (void)post::daemon::parse_node_config(text, "fuzz.yaml", "/base");
  return 0;
}
