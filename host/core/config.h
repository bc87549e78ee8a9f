// Checked configuration: a read-only view over a YAML document whose every error names the
// file, the line and column, and the dotted key path of what was wrong:
//
//   node.yaml:12:5: pastry.leaf_set_size: expected an integer from 2 to 128, got "abc"
//   node.yaml:3:1: pastry: missing required key 'leaf_set_size'
//   node.yaml:7:1: unknown key 'lisen' (did you mean 'listen'?)
//
// A thin wrapper around yaml-cpp: nothing in this API throws, and nothing walks a document
// eagerly, so anchors and aliases (even self-referencing ones) cost only what the caller
// reads. The `_or` accessors treat a key whose value is null (`key:` or `key: ~`) as absent.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "host/core/result.h"

namespace post::config {

// The same type as post::net::Duration; host/core cannot include host/net.
using Duration = std::chrono::nanoseconds;

// A configuration file is a few KiB; anything this large is not one.
inline constexpr std::size_t kMaxDocumentBytes = 1 << 20;
// Deeper nesting than this is refused at load time (and when aliases nest deeper while
// reading), so neither the parser nor a recursive reader can exhaust the stack.
inline constexpr int kMaxDepth = 64;

namespace detail {
// The state behind a Node; defined in config.cpp so yaml-cpp stays out of this header.
struct NodeState;

template <class R>
struct ResultValue;
template <class T>
struct ResultValue<Result<T>> {
  using type = T;
};
}  // namespace detail

class Node {
 public:
  // Reads and parses the YAML file at `path`; messages name the file as `path` spells it.
  // Refuses an unreadable file (CoreErrc::kIoError: "cannot read node.yaml: No such file or
  // directory"), a file over kMaxDocumentBytes, a syntax error, nesting deeper than kMaxDepth
  // and more than one document (CoreErrc::kConfigSyntax). An empty document reads as an
  // empty mapping.
  static Result<Node> load_file(const std::string& path);
  // As load_file, for YAML text held in memory; `name` stands in for the file name.
  static Result<Node> load_string(std::string_view text, std::string_view name = "<string>");

  // Where this value starts: "node.yaml:12:5" (or just the file name when unknown).
  std::string location() const;
  // The dotted path of this value from the root: "pastry.leaf_set_size", "bootstrap[2]";
  // empty for the root.
  const std::string& path() const;

  bool is_map() const;
  bool is_sequence() const;
  bool is_scalar() const;
  // True when `key` is present with a non-null value. False for a non-mapping.
  bool has(std::string_view key) const;

  // The accessors below read the value of `key` in this mapping. The plain form refuses a
  // missing key (kConfigMissingKey, at this mapping); the `_or` form returns `fallback`
  // for a missing or null key. Both refuse a value of the wrong type or out of range
  // (kConfigBadValue, at the value), a duplicated key, and any call on a non-mapping.

  // Any scalar, as written.
  Result<std::string> string(std::string_view key) const;
  Result<std::string> string_or(std::string_view key, std::string_view fallback) const;

  // One of `choices`, e.g. a log level.
  Result<std::string> choice(std::string_view key,
                             std::initializer_list<std::string_view> choices) const;
  Result<std::string> choice_or(std::string_view key,
                                std::initializer_list<std::string_view> choices,
                                std::string_view fallback) const;

  // A decimal integer in [min, max].
  Result<std::int64_t> integer(std::string_view key, std::int64_t min, std::int64_t max) const;
  Result<std::int64_t> integer_or(std::string_view key, std::int64_t min, std::int64_t max,
                                  std::int64_t fallback) const;

  // true/false (also yes/no, on/off).
  Result<bool> boolean(std::string_view key) const;
  Result<bool> boolean_or(std::string_view key, bool fallback) const;

  // A size in bytes in [min, max]: a whole number, optionally with a unit (B, KiB, MiB, GiB,
  // TiB, or decimal KB, MB, GB, TB), as in "65536", "512MiB", "2 GiB".
  Result<std::uint64_t> byte_size_or(std::string_view key, std::uint64_t min, std::uint64_t max,
                                     std::uint64_t fallback) const;

  // A duration in [min, max]: a number with a unit (ns, us, ms, s, m, h), as in "250ms",
  // "1.5s", "15m", or a plain number of seconds ("20").
  Result<Duration> duration(std::string_view key, Duration min, Duration max) const;
  Result<Duration> duration_or(std::string_view key, Duration min, Duration max,
                               Duration fallback) const;

  // A scalar converted by `parse`, a callable taking std::string_view and returning a
  // Result<T> (e.g. post::net::Address::parse). A failed conversion becomes a
  // kConfigBadValue error at the value, carrying the converter's message.
  template <class Parse>
  auto parsed(std::string_view key, Parse&& parse) const -> decltype(parse(std::string_view()));

  // A required mapping.
  Result<Node> child(std::string_view key) const;
  // A mapping that may be left out: a missing or null key gives an empty mapping, on which
  // every `_or` accessor returns its fallback.
  Result<Node> child_or_empty(std::string_view key) const;

  // The elements of a sequence; a missing or null key gives an empty list.
  Result<std::vector<Node>> sequence(std::string_view key) const;
  // A sequence of scalars; a missing or null key gives an empty list.
  Result<std::vector<std::string>> string_list(std::string_view key) const;
  // A sequence of scalars each converted by `parse` (see parsed()); errors name the element,
  // as in "bootstrap[1]". A missing or null key gives an empty list.
  template <class Parse>
  auto parsed_list(std::string_view key, Parse&& parse) const -> Result<
      std::vector<typename detail::ResultValue<decltype(parse(std::string_view()))>::type>>;

  // Refuses (kConfigUnknownKey) the first key of this mapping not in `keys`, suggesting the
  // closest allowed key when it is a likely typo; also refuses non-string and duplicated
  // keys, and a value that is not a mapping.
  Status allow_only_keys(std::initializer_list<std::string_view> keys) const;

  // This value as YAML text (block style), e.g. to hand a plugin its config subtree. A null
  // value gives "~". Aliases are expanded.
  std::string to_yaml() const;

  // A kConfigBadValue error located at the value of `key` (at this node when `key` is
  // absent or empty): "<location>: <path>.<key>: <message>". For checks the accessors cannot
  // express, such as "must be even".
  Error bad_value(std::string_view key, std::string_view message) const;

 private:
  explicit Node(std::shared_ptr<const detail::NodeState> state) : state_(std::move(state)) {}

  // The scalar text of this node, or "expected <expected>, got ..." at its location.
  Result<std::string> scalar_text(std::string_view expected) const;
  // A kConfigBadValue error at this node: "<location>: <path>: <message>".
  Error error_here(std::string_view message) const;

  std::shared_ptr<const detail::NodeState> state_;
};

// `text` quoted for an error message: in double quotes, control characters escaped, cut
// after 64 characters.
std::string quote(std::string_view text);

// A duration in the largest unit that divides it: "250ms", "20s", "15m", "0s".
std::string format_duration(Duration d);

template <class Parse>
auto Node::parsed(std::string_view key, Parse&& parse) const
    -> decltype(parse(std::string_view())) {
  POST_TRY_ASSIGN(std::string text, string(key));
  auto result = parse(std::string_view(text));
  if (!result.ok()) return bad_value(key, result.error().message);
  return result;
}

template <class Parse>
auto Node::parsed_list(std::string_view key, Parse&& parse) const -> Result<
    std::vector<typename detail::ResultValue<decltype(parse(std::string_view()))>::type>> {
  using T = typename detail::ResultValue<decltype(parse(std::string_view()))>::type;
  POST_TRY_ASSIGN(std::vector<Node> items, sequence(key));
  std::vector<T> values;
  values.reserve(items.size());
  for (const Node& item : items) {
    POST_TRY_ASSIGN(std::string text, item.scalar_text("a string"));
    auto value = parse(std::string_view(text));
    if (!value.ok()) return item.error_here(value.error().message);
    values.push_back(std::move(value).value());
  }
  return values;
}

}  // namespace post::config
