#include "host/core/config.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <exception>
#include <limits>
#include <optional>
#include <sstream>
#include <system_error>

#include "host/core/errors.h"

namespace post::config {
namespace detail {

struct NodeState {
  YAML::Node value;
  std::shared_ptr<const std::string> file;
  std::string path;
  YAML::Mark mark;      // where the value starts
  YAML::Mark key_mark;  // where the key naming it starts; the value itself for root and elements
  int depth = 0;
};

}  // namespace detail

namespace {

using detail::NodeState;
using StatePtr = std::shared_ptr<const NodeState>;

// An unknown key is taken for a typo of an allowed key, and suggested, when it is within
// max(2, a third of the allowed key's length) single-character edits of it.
constexpr std::size_t kMinTypoEdits = 2;
// Fraction digits a duration may carry: nanoseconds are the finest unit.
constexpr std::size_t kMaxFractionDigits = 9;

std::string quote_with(std::string_view text, char delimiter) {
  constexpr std::size_t kMaxShown = 64;
  constexpr char kHex[] = "0123456789abcdef";
  std::string out(1, delimiter);
  std::size_t shown = 0;
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    bool continuation = (byte & 0xC0) == 0x80;  // never cut a UTF-8 sequence in half
    if (shown >= kMaxShown && !continuation) {
      out += "...";
      break;
    }
    if (!continuation) ++shown;
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c == delimiter) {
          out += '\\';
          out += c;
        } else if (byte < 0x20 || byte == 0x7f) {
          out += "\\x";
          out += kHex[byte >> 4];
          out += kHex[byte & 0xf];
        } else {
          out += c;
        }
    }
  }
  out += delimiter;
  return out;
}

// A key for an error message: 'name'.
std::string quote_key(std::string_view key) {
  return quote_with(key, '\'');
}

std::string format_location(const std::string& file, const YAML::Mark& mark) {
  if (mark.is_null()) return file;
  return file + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

Error error_at(CoreErrc code, const std::string& file, const YAML::Mark& mark,
               std::string_view path, std::string_view message) {
  std::string text = format_location(file, mark);
  text += ": ";
  if (!path.empty()) {
    text += path;
    text += ": ";
  }
  text += message;
  return make_error(code, std::move(text));
}

Error error_at(CoreErrc code, const NodeState& state, std::string_view message) {
  return error_at(code, *state.file, state.mark, state.path, message);
}

std::string join_path(std::string_view parent, std::string_view key) {
  std::string path(parent);
  if (key.empty()) return path;
  if (!path.empty()) path += '.';
  path += key;
  return path;
}

// What a value is, for "expected X, got Y".
std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar: return quote(node.Scalar());
    case YAML::NodeType::Sequence: return "a sequence";
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Null: return "an empty value";
    case YAML::NodeType::Undefined: break;
  }
  return "nothing";
}

// NodeStates are built whole, never assigned into: assigning to a YAML::Node that already
// refers to a node rebinds that node in the document instead of copying a handle.
StatePtr make_state(const NodeState& parent, const YAML::Node& value, std::string path,
                    const YAML::Mark& key_mark) {
  // yaml-cpp marks an empty value where the next token starts; its key is the better place.
  YAML::Mark mark = value.IsNull() ? YAML::Mark::null_mark() : value.Mark();
  if (mark.is_null()) mark = key_mark;
  return std::make_shared<const NodeState>(
      NodeState{value, parent.file, std::move(path), mark, key_mark, parent.depth + 1});
}

// An empty mapping standing in for a section that was left out.
StatePtr empty_map_state(const NodeState& parent, std::string path, const YAML::Mark& mark) {
  return std::make_shared<const NodeState>(NodeState{
      YAML::Node(YAML::NodeType::Map), parent.file, std::move(path), mark, mark, parent.depth + 1});
}

Status check_depth(const NodeState& state) {
  if (state.depth > kMaxDepth) {
    return error_at(CoreErrc::kConfigBadValue, state,
                    "nested deeper than " + std::to_string(kMaxDepth) + " levels");
  }
  return ok_status();
}

// Runs `fn`, turning anything yaml-cpp (or the allocator) throws into an error at `state`.
// yaml-cpp does not throw on the calls made here for nodes it built, but nothing may escape.
template <class Fn>
auto guarded(const NodeState& state, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const std::exception& e) {
    return error_at(CoreErrc::kConfigBadValue, state,
                    std::string("cannot read value: ") + e.what());
  }
}

Status expect_map(const NodeState& state) {
  if (state.value.IsMap()) return ok_status();
  return error_at(CoreErrc::kConfigBadValue, state,
                  "expected a mapping, got " + describe(state.value));
}

// The value of `key` in the mapping `state`, null values included; nullopt when missing.
Result<std::optional<StatePtr>> find(const NodeState& state, std::string_view key) {
  return guarded(state, [&]() -> Result<std::optional<StatePtr>> {
    POST_TRY(expect_map(state));
    std::optional<StatePtr> found;
    for (const auto& entry : state.value) {
      const YAML::Node& k = entry.first;
      if (!k.IsScalar() || k.Scalar() != key) continue;
      if (found) {
        return error_at(CoreErrc::kConfigSyntax, *state.file, k.Mark(), state.path,
                        "duplicate key " + quote_key(key) + " (first at " +
                            format_location(*state.file, (*found)->key_mark) + ")");
      }
      found = make_state(state, entry.second, join_path(state.path, key), k.Mark());
    }
    return found;
  });
}

Error missing_key(const NodeState& state, std::string_view key) {
  return error_at(CoreErrc::kConfigMissingKey, *state.file, state.key_mark, state.path,
                  "missing required key " + quote_key(key));
}

Result<StatePtr> required(const NodeState& state, std::string_view key) {
  POST_TRY_ASSIGN(std::optional<StatePtr> value, find(state, key));
  if (!value) return missing_key(state, key);
  return *std::move(value);
}

// The value of `key`, or nullopt when it is missing or null.
Result<std::optional<StatePtr>> optional(const NodeState& state, std::string_view key) {
  POST_TRY_ASSIGN(std::optional<StatePtr> value, find(state, key));
  if (value && (*value)->value.IsNull()) return std::optional<StatePtr>();
  return value;
}

Result<std::string> scalar_of(const NodeState& state, std::string_view expected) {
  return guarded(state, [&]() -> Result<std::string> {
    if (state.value.IsScalar()) return state.value.Scalar();
    return error_at(CoreErrc::kConfigBadValue, state,
                    "expected " + std::string(expected) + ", got " + describe(state.value));
  });
}

// `text` as a decimal integer with an optional sign, nothing else.
std::optional<std::int64_t> parse_integer(std::string_view text) {
  if (!text.empty() && text.front() == '+') {
    text.remove_prefix(1);
    if (text.empty() || text.front() < '0' || text.front() > '9') return std::nullopt;
  }
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

Result<std::int64_t> integer_of(const NodeState& state, std::int64_t min, std::int64_t max) {
  std::string expected = "an integer from " + std::to_string(min) + " to " + std::to_string(max);
  POST_TRY_ASSIGN(std::string text, scalar_of(state, expected));
  std::optional<std::int64_t> value = parse_integer(text);
  if (!value || *value < min || *value > max) {
    return error_at(CoreErrc::kConfigBadValue, state,
                    "expected " + expected + ", got " + quote(text));
  }
  return *value;
}

Result<bool> boolean_of(const NodeState& state) {
  constexpr std::string_view kExpected = "true or false";
  POST_TRY_ASSIGN(std::string text, scalar_of(state, kExpected));
  std::string lower = text;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "true" || lower == "yes" || lower == "on") return true;
  if (lower == "false" || lower == "no" || lower == "off") return false;
  return error_at(CoreErrc::kConfigBadValue, state,
                  "expected " + std::string(kExpected) + ", got " + quote(text));
}

// Nanoseconds per unit; a number without a unit is seconds.
std::optional<std::int64_t> unit_nanos(std::string_view unit) {
  if (unit.empty() || unit == "s") return 1'000'000'000;
  if (unit == "ns") return 1;
  if (unit == "us") return 1'000;
  if (unit == "ms") return 1'000'000;
  if (unit == "m") return 60'000'000'000;
  if (unit == "h") return 3'600'000'000'000;
  return std::nullopt;
}

// "250ms", "1.5s", "20" (seconds): a non-negative decimal number and an optional unit.
std::optional<Duration> parse_duration(std::string_view text) {
  std::size_t number_end = 0;
  while (number_end < text.size() &&
         ((text[number_end] >= '0' && text[number_end] <= '9') || text[number_end] == '.')) {
    ++number_end;
  }
  std::string_view number = text.substr(0, number_end);
  std::optional<std::int64_t> unit = unit_nanos(text.substr(number_end));
  if (!unit) return std::nullopt;
  std::size_t dot = number.find('.');
  std::string_view whole = number.substr(0, dot);
  std::string_view fraction =
      dot == std::string_view::npos ? std::string_view() : number.substr(dot + 1);
  if (whole.empty() && fraction.empty()) return std::nullopt;
  if (fraction.find('.') != std::string_view::npos) return std::nullopt;
  if (fraction.size() > kMaxFractionDigits) return std::nullopt;

  std::int64_t whole_value = 0;
  if (!whole.empty()) {
    auto [end, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), whole_value);
    if (ec != std::errc() || end != whole.data() + whole.size()) return std::nullopt;
  }
  std::int64_t nanos = 0;
  if (__builtin_mul_overflow(whole_value, *unit, &nanos)) return std::nullopt;
  if (!fraction.empty()) {
    std::int64_t fraction_value = 0;
    std::from_chars(fraction.data(), fraction.data() + fraction.size(), fraction_value);
    // fraction_value < 10^digits, so the product stays below one unit (at most an hour).
    double part = static_cast<double>(fraction_value) * static_cast<double>(*unit) /
                  std::pow(10.0, static_cast<double>(fraction.size()));
    if (__builtin_add_overflow(nanos, static_cast<std::int64_t>(std::llround(part)), &nanos)) {
      return std::nullopt;
    }
  }
  return Duration(nanos);
}

Result<Duration> duration_of(const NodeState& state, Duration min, Duration max) {
  std::string expected = "a duration from " + format_duration(min) + " to " + format_duration(max) +
                         " (like \"250ms\", \"20s\", \"15m\")";
  POST_TRY_ASSIGN(std::string text, scalar_of(state, expected));
  std::optional<Duration> value = parse_duration(text);
  if (!value || *value < min || *value > max) {
    return error_at(CoreErrc::kConfigBadValue, state,
                    "expected " + expected + ", got " + quote(text));
  }
  return *value;
}

// "123", "64KiB", "16 MiB", "1GiB", "2TiB", "10MB" (decimal units too): whole numbers only.
std::optional<std::uint64_t> parse_byte_size(std::string_view text) {
  std::size_t end = 0;
  while (end < text.size() && text[end] >= '0' && text[end] <= '9') ++end;
  if (end == 0) return std::nullopt;
  std::uint64_t number = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + end, number);
  if (ec != std::errc() || ptr != text.data() + end) return std::nullopt;
  std::string_view unit = text.substr(end);
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  static constexpr std::pair<std::string_view, std::uint64_t> kUnits[] = {
      {"", 1},
      {"B", 1},
      {"KiB", std::uint64_t{1} << 10},
      {"MiB", std::uint64_t{1} << 20},
      {"GiB", std::uint64_t{1} << 30},
      {"TiB", std::uint64_t{1} << 40},
      {"KB", 1000},
      {"MB", 1000 * 1000},
      {"GB", 1000 * 1000 * 1000},
      {"TB", std::uint64_t{1000} * 1000 * 1000 * 1000},
  };
  for (const auto& [name, factor] : kUnits) {
    if (unit != name) continue;
    std::uint64_t bytes = 0;
    if (__builtin_mul_overflow(number, factor, &bytes)) return std::nullopt;
    return bytes;
  }
  return std::nullopt;
}

std::string format_bytes(std::uint64_t bytes) {
  static constexpr std::pair<std::string_view, std::uint64_t> kUnits[] = {
      {"TiB", std::uint64_t{1} << 40},
      {"GiB", std::uint64_t{1} << 30},
      {"MiB", std::uint64_t{1} << 20},
      {"KiB", std::uint64_t{1} << 10}};
  for (const auto& [name, factor] : kUnits) {
    if (bytes >= factor && bytes % factor == 0) {
      return std::to_string(bytes / factor) + std::string(name);
    }
  }
  return std::to_string(bytes);
}

Result<std::uint64_t> byte_size_of(const NodeState& state, std::uint64_t min, std::uint64_t max) {
  std::string expected = "a size from " + format_bytes(min) + " to " + format_bytes(max) +
                         " bytes (like \"65536\", \"512MiB\", \"2GiB\")";
  POST_TRY_ASSIGN(std::string text, scalar_of(state, expected));
  std::optional<std::uint64_t> value = parse_byte_size(text);
  if (!value || *value < min || *value > max) {
    return error_at(CoreErrc::kConfigBadValue, state,
                    "expected " + expected + ", got " + quote(text));
  }
  return *value;
}

std::string join_choices(std::initializer_list<std::string_view> choices) {
  std::string text;
  for (std::string_view c : choices) {
    if (!text.empty()) text += ", ";
    text += c;
  }
  return text;
}

Result<std::string> choice_of(const NodeState& state,
                              std::initializer_list<std::string_view> choices) {
  std::string expected = "one of " + join_choices(choices);
  POST_TRY_ASSIGN(std::string text, scalar_of(state, expected));
  for (std::string_view c : choices) {
    if (c == text) return text;
  }
  return error_at(CoreErrc::kConfigBadValue, state,
                  "expected " + expected + ", got " + quote(text));
}

Result<std::vector<StatePtr>> elements_of(const NodeState& state) {
  return guarded(state, [&]() -> Result<std::vector<StatePtr>> {
    if (!state.value.IsSequence()) {
      return error_at(CoreErrc::kConfigBadValue, state,
                      "expected a sequence, got " + describe(state.value));
    }
    POST_TRY(check_depth(state));
    std::vector<StatePtr> items;
    std::size_t index = 0;
    for (const auto& item : state.value) {
      YAML::Mark mark = item.Mark();
      if (mark.is_null()) mark = state.mark;
      items.push_back(
          make_state(state, item, state.path + "[" + std::to_string(index) + "]", mark));
      ++index;
    }
    return items;
  });
}

// Levenshtein distance, for "did you mean".
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + cost});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The allowed key closest to `key`, when close enough to be a likely typo.
std::optional<std::string_view> suggest(std::string_view key,
                                        std::initializer_list<std::string_view> allowed) {
  std::optional<std::string_view> best;
  std::size_t best_distance = std::numeric_limits<std::size_t>::max();
  for (std::string_view candidate : allowed) {
    std::size_t limit = std::max(kMinTypoEdits, candidate.size() / 3);
    std::size_t length_gap = key.size() > candidate.size() ? key.size() - candidate.size()
                                                           : candidate.size() - key.size();
    if (length_gap > limit) continue;
    std::size_t d = edit_distance(key, candidate);
    if (d <= limit && d < best_distance) {
      best = candidate;
      best_distance = d;
    }
  }
  return best;
}

// Parse events checked before any tree is built: nesting depth and document count.
class StructureCheck final : public YAML::EventHandler {
 public:
  struct TooDeep {
    YAML::Mark mark;
  };

  const YAML::Mark& last_document_start() const { return document_start_; }

  void OnDocumentStart(const YAML::Mark& mark) override { document_start_ = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    enter(mark);
  }
  void OnSequenceEnd() override { --depth_; }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    enter(mark);
  }
  void OnMapEnd() override { --depth_; }

 private:
  void enter(const YAML::Mark& mark) {
    if (++depth_ > kMaxDepth) throw TooDeep{mark};
  }

  int depth_ = 0;
  YAML::Mark document_start_;
};

// Checks the structure of `text`, then builds its tree. Everything yaml-cpp throws stops here.
Result<YAML::Node> parse_document(const std::string& text, const std::string& name) {
  auto syntax_error = [&](const YAML::Mark& mark, std::string_view message) {
    return error_at(CoreErrc::kConfigSyntax, name, mark, "", message);
  };
  try {
    std::istringstream in(text);
    YAML::Parser parser(in);
    StructureCheck check;
    if (parser.HandleNextDocument(check) && parser.HandleNextDocument(check)) {
      return syntax_error(check.last_document_start(),
                          "a second YAML document; a config file holds one");
    }
    return YAML::Load(text);
  } catch (const StructureCheck::TooDeep& e) {
    return syntax_error(e.mark, "nested deeper than " + std::to_string(kMaxDepth) + " levels");
  } catch (const YAML::Exception& e) {
    return syntax_error(e.mark, "syntax error: " + e.msg);
  } catch (const std::exception& e) {
    return syntax_error(YAML::Mark::null_mark(), std::string("cannot parse: ") + e.what());
  }
}

Result<std::string> read_file(const std::string& path) {
  auto failed = [&](int err) {
    return make_error(CoreErrc::kIoError,
                      "cannot read " + path + ": " + std::generic_category().message(err));
  };
  errno = 0;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                       &std::fclose);
  if (!file) return failed(errno);
  std::string text;
  char buffer[64 * 1024];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, file.get())) > 0) {
    text.append(buffer, n);
    if (text.size() > kMaxDocumentBytes) {
      return make_error(CoreErrc::kConfigBadValue, path + ": larger than the " +
                                                       std::to_string(kMaxDocumentBytes) +
                                                       "-byte limit for a config file");
    }
  }
  if (std::ferror(file.get())) return failed(errno != 0 ? errno : EIO);
  return text;
}

}  // namespace

std::string quote(std::string_view text) {
  return quote_with(text, '"');
}

std::string format_duration(Duration d) {
  struct Unit {
    std::int64_t nanos;
    const char* suffix;
  };
  constexpr Unit kUnits[] = {{3'600'000'000'000, "h"}, {60'000'000'000, "m"}, {1'000'000'000, "s"},
                             {1'000'000, "ms"},        {1'000, "us"},         {1, "ns"}};
  std::int64_t n = d.count();
  if (n == 0) return "0s";
  for (const Unit& unit : kUnits) {
    if (n % unit.nanos == 0) return std::to_string(n / unit.nanos) + unit.suffix;
  }
  return std::to_string(n) + "ns";
}

Result<Node> Node::load_string(std::string_view text, std::string_view name) {
  std::string file(name);
  if (text.size() > kMaxDocumentBytes) {
    return make_error(CoreErrc::kConfigBadValue, file + ": larger than the " +
                                                     std::to_string(kMaxDocumentBytes) +
                                                     "-byte limit for a config file");
  }
  POST_TRY_ASSIGN(YAML::Node root, parse_document(std::string(text), file));
  auto shared_file = std::make_shared<const std::string>(std::move(file));
  if (!root.IsDefined() || root.IsNull()) {
    return Node(std::make_shared<const NodeState>(NodeState{
        YAML::Node(YAML::NodeType::Map), shared_file, "", YAML::Mark(), YAML::Mark(), 0}));
  }
  YAML::Mark mark = root.Mark().is_null() ? YAML::Mark() : root.Mark();
  auto state = std::make_shared<const NodeState>(NodeState{root, shared_file, "", mark, mark, 0});
  return Node(std::move(state));
}

Result<Node> Node::load_file(const std::string& path) {
  POST_TRY_ASSIGN(std::string text, read_file(path));
  return load_string(text, path);
}

std::string Node::location() const {
  return format_location(*state_->file, state_->mark);
}

const std::string& Node::path() const {
  return state_->path;
}

bool Node::is_map() const {
  return state_->value.IsMap();
}
bool Node::is_sequence() const {
  return state_->value.IsSequence();
}
bool Node::is_scalar() const {
  return state_->value.IsScalar();
}

bool Node::has(std::string_view key) const {
  if (!is_map()) return false;
  auto value = optional(*state_, key);
  return value.ok() && value->has_value();
}

Result<std::string> Node::string(std::string_view key) const {
  POST_TRY_ASSIGN(StatePtr value, required(*state_, key));
  return scalar_of(*value, "a string");
}

Result<std::string> Node::string_or(std::string_view key, std::string_view fallback) const {
  POST_TRY_ASSIGN(std::optional<StatePtr> value, optional(*state_, key));
  if (!value) return std::string(fallback);
  return scalar_of(**value, "a string");
}

Result<std::string> Node::choice(std::string_view key,
                                 std::initializer_list<std::string_view> choices) const {
  POST_TRY_ASSIGN(StatePtr value, required(*state_, key));
  return choice_of(*value, choices);
}

Result<std::string> Node::choice_or(std::string_view key,
                                    std::initializer_list<std::string_view> choices,
                                    std::string_view fallback) const {
  POST_TRY_ASSIGN(std::optional<StatePtr> value, optional(*state_, key));
  if (!value) return std::string(fallback);
  return choice_of(**value, choices);
}

Result<std::int64_t> Node::integer(std::string_view key, std::int64_t min, std::int64_t max) const {
  POST_TRY_ASSIGN(StatePtr value, required(*state_, key));
  return integer_of(*value, min, max);
}

Result<std::int64_t> Node::integer_or(std::string_view key, std::int64_t min, std::int64_t max,
                                      std::int64_t fallback) const {
  POST_TRY_ASSIGN(std::optional<StatePtr> value, optional(*state_, key));
  if (!value) return fallback;
  return integer_of(**value, min, max);
}

Result<bool> Node::boolean(std::string_view key) const {
  POST_TRY_ASSIGN(StatePtr value, required(*state_, key));
  return boolean_of(*value);
}

Result<bool> Node::boolean_or(std::string_view key, bool fallback) const {
  POST_TRY_ASSIGN(std::optional<StatePtr> value, optional(*state_, key));
  if (!value) return fallback;
  return boolean_of(**value);
}

Result<std::uint64_t> Node::byte_size_or(std::string_view key, std::uint64_t min,
                                         std::uint64_t max, std::uint64_t fallback) const {
  POST_TRY_ASSIGN(std::optional<StatePtr> value, optional(*state_, key));
  if (!value) return fallback;
  return byte_size_of(**value, min, max);
}

Result<Duration> Node::duration(std::string_view key, Duration min, Duration max) const {
  POST_TRY_ASSIGN(StatePtr value, required(*state_, key));
  return duration_of(*value, min, max);
}

Result<Duration> Node::duration_or(std::string_view key, Duration min, Duration max,
                                   Duration fallback) const {
  POST_TRY_ASSIGN(std::optional<StatePtr> value, optional(*state_, key));
  if (!value) return fallback;
  return duration_of(**value, min, max);
}

Result<Node> Node::child(std::string_view key) const {
  POST_TRY_ASSIGN(StatePtr value, required(*state_, key));
  POST_TRY(guarded(*value, [&] { return expect_map(*value); }));
  POST_TRY(check_depth(*value));
  return Node(std::move(value));
}

Result<Node> Node::child_or_empty(std::string_view key) const {
  POST_TRY_ASSIGN(std::optional<StatePtr> value, optional(*state_, key));
  if (!value) return Node(empty_map_state(*state_, join_path(state_->path, key), state_->mark));
  POST_TRY(guarded(**value, [&] { return expect_map(**value); }));
  POST_TRY(check_depth(**value));
  return Node(*std::move(value));
}

Result<std::vector<Node>> Node::sequence(std::string_view key) const {
  POST_TRY_ASSIGN(std::optional<StatePtr> value, optional(*state_, key));
  std::vector<Node> nodes;
  if (!value) return nodes;
  POST_TRY_ASSIGN(std::vector<StatePtr> items, elements_of(**value));
  nodes.reserve(items.size());
  for (StatePtr& item : items) nodes.push_back(Node(std::move(item)));
  return nodes;
}

Result<std::vector<std::string>> Node::string_list(std::string_view key) const {
  return parsed_list(key,
                     [](std::string_view text) { return Result<std::string>(std::string(text)); });
}

std::string Node::to_yaml() const {
  try {
    YAML::Emitter out;
    out << state_->value;
    return out.c_str();
  } catch (const std::exception&) {
    return "~";  // emitting a node that was parsed cannot fail; never leak an exception
  }
}

Status Node::allow_only_keys(std::initializer_list<std::string_view> keys) const {
  const NodeState& state = *state_;
  return guarded(state, [&]() -> Status {
    POST_TRY(expect_map(state));
    std::vector<std::pair<std::string, YAML::Mark>> seen;
    for (const auto& entry : state.value) {
      const YAML::Node& k = entry.first;
      YAML::Mark mark = k.Mark().is_null() ? state.mark : k.Mark();
      if (!k.IsScalar()) {
        return error_at(CoreErrc::kConfigUnknownKey, *state.file, mark, state.path,
                        "keys must be strings, got " + describe(k));
      }
      const std::string& name = k.Scalar();
      for (const auto& [earlier, earlier_mark] : seen) {
        if (earlier == name) {
          return error_at(CoreErrc::kConfigSyntax, *state.file, mark, state.path,
                          "duplicate key " + quote_key(name) + " (first at " +
                              format_location(*state.file, earlier_mark) + ")");
        }
      }
      seen.emplace_back(name, mark);
      if (std::find(keys.begin(), keys.end(), std::string_view(name)) != keys.end()) continue;
      std::string message = "unknown key " + quote_key(name);
      if (auto close = suggest(name, keys)) {
        message += " (did you mean '" + std::string(*close) + "'?)";
      } else {
        message += " (allowed: " + join_choices(keys) + ")";
      }
      return error_at(CoreErrc::kConfigUnknownKey, *state.file, mark, state.path, message);
    }
    return ok_status();
  });
}

Error Node::bad_value(std::string_view key, std::string_view message) const {
  auto value = find(*state_, key);
  if (value.ok() && value->has_value()) {
    return error_at(CoreErrc::kConfigBadValue, ***value, message);
  }
  return error_at(CoreErrc::kConfigBadValue, *state_->file, state_->mark,
                  join_path(state_->path, key), message);
}

Result<std::string> Node::scalar_text(std::string_view expected) const {
  return scalar_of(*state_, expected);
}

Error Node::error_here(std::string_view message) const {
  return error_at(CoreErrc::kConfigBadValue, *state_, message);
}

}  // namespace post::config
