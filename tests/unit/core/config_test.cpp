#include "host/core/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "host/core/errors.h"

namespace post::config {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr std::int64_t kAny = 1'000'000;

Node load(std::string_view yaml) {
  auto node = Node::load_string(yaml, "node.yaml");
  EXPECT_TRUE(node.ok()) << node.error().message;
  return std::move(node).value();
}

// The message of `result`'s error, or a note that it unexpectedly succeeded.
template <class R>
std::string error_of(const R& result) {
  if (result.ok()) return "<no error>";
  return result.error().message;
}

template <class R>
std::error_code code_of(const R& result) {
  if (result.ok()) return {};
  return result.error().code;
}

// A file that is removed when the test ends.
class TempFile {
 public:
  explicit TempFile(std::string_view contents) {
    path_ =
        std::filesystem::temp_directory_path() / ("post_config_test_" + std::to_string(::getpid()) +
                                                  "_" + std::to_string(next_++) + ".yaml");
    std::ofstream(path_) << contents;
  }
  ~TempFile() { std::filesystem::remove(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  static inline int next_ = 0;
  std::filesystem::path path_;
};

TEST(ConfigNode, ReadsScalarsOfEveryKind) {
  Node root = load(
      "name: alice\n"
      "count: 42\n"
      "negative: -7\n"
      "enabled: yes\n"
      "timeout: 250ms\n");
  EXPECT_EQ(root.string("name").value(), "alice");
  EXPECT_EQ(root.string("count").value(), "42");
  EXPECT_EQ(root.integer("count", 0, 100).value(), 42);
  EXPECT_EQ(root.integer("negative", -10, 10).value(), -7);
  EXPECT_TRUE(root.boolean("enabled").value());
  EXPECT_EQ(root.duration("timeout", Duration::zero(), hours(1)).value(), milliseconds(250));
}

TEST(ConfigNode, FallbacksApplyToMissingAndNullKeys) {
  Node root = load(
      "empty:\n"
      "tilde: ~\n");
  for (std::string_view key : {"absent", "empty", "tilde"}) {
    EXPECT_EQ(root.string_or(key, "x").value(), "x") << key;
    EXPECT_EQ(root.integer_or(key, 0, 10, 3).value(), 3) << key;
    EXPECT_FALSE(root.boolean_or(key, false).value()) << key;
    EXPECT_EQ(root.duration_or(key, Duration::zero(), hours(1), seconds(5)).value(), seconds(5));
    EXPECT_EQ(root.choice_or(key, {"a", "b"}, "b").value(), "b") << key;
    EXPECT_FALSE(root.has(key)) << key;
  }
}

TEST(ConfigNode, FallbackIsNotUsedForAPresentValueOfTheWrongType) {
  Node root = load("count: [1, 2]\n");
  auto count = root.integer_or("count", 0, 10, 3);
  EXPECT_EQ(error_of(count),
            "node.yaml:1:8: count: expected an integer from 0 to 10, got a sequence");
}

TEST(ConfigNode, MissingKeyNamesFileLineAndKey) {
  Node root = load(
      "# node\n"
      "\n"
      "pastry:\n"
      "  digit_bits: 4\n");
  Node pastry = root.child("pastry").value();
  auto size = pastry.integer("leaf_set_size", 2, 128);
  EXPECT_EQ(code_of(size), CoreErrc::kConfigMissingKey);
  EXPECT_EQ(error_of(size), "node.yaml:3:1: pastry: missing required key 'leaf_set_size'");
}

TEST(ConfigNode, MissingTopLevelKeyHasNoPathPrefix) {
  Node root = load("a: 1\n");
  EXPECT_EQ(error_of(root.string("listen")), "node.yaml:1:1: missing required key 'listen'");
}

TEST(ConfigNode, BadIntegerNamesFileLineKeyAndRange) {
  Node root = load(
      "pastry:\n"
      "    leaf_set_size: abc\n");
  auto size = root.child("pastry").value().integer("leaf_set_size", 2, 128);
  EXPECT_EQ(code_of(size), CoreErrc::kConfigBadValue);
  EXPECT_EQ(error_of(size),
            "node.yaml:2:20: pastry.leaf_set_size: expected an integer from 2 to 128, got \"abc\"");
}

TEST(ConfigNode, IntegerOutsideItsRangeIsRefused) {
  Node root = load("a: 129\nb: 1\nc: 99999999999999999999999\nd: 0x10\ne: 1.0\n");
  EXPECT_THAT(error_of(root.integer("a", 2, 128)), HasSubstr("got \"129\""));
  EXPECT_THAT(error_of(root.integer("b", 2, 128)), HasSubstr("got \"1\""));
  EXPECT_THAT(error_of(root.integer("c", 0, kAny)), HasSubstr("c: expected an integer"));
  EXPECT_THAT(error_of(root.integer("d", 0, kAny)), HasSubstr("d: expected an integer"));
  EXPECT_THAT(error_of(root.integer("e", 0, kAny)), HasSubstr("e: expected an integer"));
}

TEST(ConfigNode, MappingWhereAStringIsExpectedIsRefused) {
  Node root = load(
      "identity:\n"
      "  key:\n"
      "    path: a\n");
  auto key = root.child("identity").value().string("key");
  EXPECT_EQ(code_of(key), CoreErrc::kConfigBadValue);
  EXPECT_EQ(error_of(key), "node.yaml:3:5: identity.key: expected a string, got a mapping");
}

TEST(ConfigNode, EmptyValueOfARequiredKeyPointsAtTheKey) {
  Node root = load(
      "listen:\n"
      "data_dir: x\n");
  EXPECT_EQ(error_of(root.string("listen")),
            "node.yaml:1:1: listen: expected a string, got an empty value");
}

TEST(ConfigNode, DurationsTakeAUnitOrPlainSeconds) {
  Node root = load(
      "a: 250ms\n"
      "b: 20s\n"
      "c: 15m\n"
      "d: 1h\n"
      "e: 20\n"
      "f: 1.5s\n"
      "g: 0\n"
      "h: 0.25\n"
      "i: 10us\n"
      "j: 7ns\n");
  auto read = [&](std::string_view key) {
    return root.duration(key, Duration::zero(), hours(24)).value();
  };
  EXPECT_EQ(read("a"), milliseconds(250));
  EXPECT_EQ(read("b"), seconds(20));
  EXPECT_EQ(read("c"), minutes(15));
  EXPECT_EQ(read("d"), hours(1));
  EXPECT_EQ(read("e"), seconds(20));
  EXPECT_EQ(read("f"), milliseconds(1500));
  EXPECT_EQ(read("g"), Duration::zero());
  EXPECT_EQ(read("h"), milliseconds(250));
  EXPECT_EQ(read("i"), std::chrono::microseconds(10));
  EXPECT_EQ(read("j"), Duration(7));
}

TEST(ConfigNode, MalformedDurationsAreRefusedWithExamples) {
  Node root = load(
      "a: 10 sec\n"
      "b: -1s\n"
      "c: 1e3\n"
      "d: s\n"
      "e: 1.2.3s\n"
      "f: \"\"\n"
      "g: 10d\n"
      "h: 99999999999999999999h\n"
      "i: 1.0000000001s\n");
  for (std::string_view key : {"a", "b", "c", "d", "e", "f", "g", "h", "i"}) {
    auto d = root.duration(key, Duration::zero(), hours(1));
    EXPECT_EQ(code_of(d), CoreErrc::kConfigBadValue) << key;
    EXPECT_THAT(error_of(d), HasSubstr(std::string(key) + ": expected a duration from 0s to 1h"));
    EXPECT_THAT(error_of(d), HasSubstr("\"250ms\""));
  }
}

TEST(ConfigNode, DurationOutsideItsRangeIsRefused) {
  Node root = load("handshake_timeout: 2h\nconnect_timeout: 0\n");
  EXPECT_EQ(error_of(root.duration("handshake_timeout", milliseconds(1), minutes(10))),
            "node.yaml:1:20: handshake_timeout: expected a duration from 1ms to 10m "
            "(like \"250ms\", \"20s\", \"15m\"), got \"2h\"");
  EXPECT_THAT(error_of(root.duration("connect_timeout", milliseconds(1), minutes(10))),
              HasSubstr("got \"0\""));
}

TEST(ConfigNode, BooleansAcceptTrueFalseYesNoOnOff) {
  Node root = load("a: true\nb: False\nc: on\nd: OFF\ne: no\nf: maybe\ng: 1\n");
  EXPECT_TRUE(root.boolean("a").value());
  EXPECT_FALSE(root.boolean("b").value());
  EXPECT_TRUE(root.boolean("c").value());
  EXPECT_FALSE(root.boolean("d").value());
  EXPECT_FALSE(root.boolean("e").value());
  EXPECT_EQ(error_of(root.boolean("f")), "node.yaml:6:4: f: expected true or false, got \"maybe\"");
  EXPECT_THAT(error_of(root.boolean("g")), HasSubstr("got \"1\""));
}

TEST(ConfigNode, ChoiceNamesTheAllowedValues) {
  Node root = load("level: verbose\n");
  EXPECT_EQ(error_of(root.choice("level", {"debug", "info"})),
            "node.yaml:1:8: level: expected one of debug, info, got \"verbose\"");
  EXPECT_EQ(load("level: info\n").choice("level", {"debug", "info"}).value(), "info");
}

TEST(ConfigNode, UnknownKeySuggestsTheClosestAllowedKey) {
  Node root = load(
      "listen: a\n"
      "data_dir: d\n"
      "\n"
      "\n"
      "\n"
      "\n"
      "lisen: b\n");
  Status status = root.allow_only_keys({"listen", "data_dir", "bootstrap"});
  EXPECT_EQ(code_of(status), CoreErrc::kConfigUnknownKey);
  EXPECT_EQ(error_of(status), "node.yaml:7:1: unknown key 'lisen' (did you mean 'listen'?)");
}

TEST(ConfigNode, UnknownKeyFarFromEveryAllowedKeyListsThem) {
  Node root = load("pastry:\n  colour: red\n");
  Status status = root.child("pastry").value().allow_only_keys({"digit_bits", "leaf_set_size"});
  EXPECT_EQ(error_of(status),
            "node.yaml:2:3: pastry: unknown key 'colour' (allowed: digit_bits, leaf_set_size)");
}

TEST(ConfigNode, UnknownKeyInANestedMappingNamesItsPath) {
  Node root = load("pastry:\n  leaf_size: 16\n");
  Status status = root.child("pastry").value().allow_only_keys({"digit_bits", "leaf_set_size"});
  EXPECT_EQ(error_of(status),
            "node.yaml:2:3: pastry: unknown key 'leaf_size' (did you mean 'leaf_set_size'?)");
}

TEST(ConfigNode, DuplicateKeysAreRefused) {
  Node root = load("listen: a\nother: 1\nlisten: b\n");
  EXPECT_EQ(error_of(root.allow_only_keys({"listen", "other"})),
            "node.yaml:3:1: duplicate key 'listen' (first at node.yaml:1:1)");
  EXPECT_EQ(code_of(root.string("listen")), CoreErrc::kConfigSyntax);
}

TEST(ConfigNode, NonStringKeysAreRefused) {
  Node root = load("? [a, b]\n: 1\n");
  EXPECT_THAT(error_of(root.allow_only_keys({"a"})), HasSubstr("keys must be strings"));
}

TEST(ConfigNode, KeysInMessagesAreEscaped) {
  Node root = load("\"bad\\nkey\": 1\n");
  EXPECT_THAT(error_of(root.allow_only_keys({"good"})), HasSubstr("unknown key 'bad\\nkey'"));
}

TEST(ConfigNode, SyntaxErrorNamesFileLineAndColumn) {
  auto root = Node::load_string(
      "listen: a\n"
      "bootstrap: [b, c\n"
      "data_dir: d\n",
      "node.yaml");
  EXPECT_EQ(code_of(root), CoreErrc::kConfigSyntax);
  EXPECT_THAT(error_of(root), StartsWith("node.yaml:3:"));
  EXPECT_THAT(error_of(root), HasSubstr(": syntax error: "));
}

TEST(ConfigNode, MissingFileNamesFileAndReason) {
  auto root = Node::load_file("/nonexistent/node.yaml");
  EXPECT_EQ(code_of(root), CoreErrc::kIoError);
  EXPECT_EQ(error_of(root), "cannot read /nonexistent/node.yaml: No such file or directory");
}

TEST(ConfigNode, LoadFileNamesTheFileInErrors) {
  TempFile file("pastry:\n  leaf_set_size: big\n");
  auto root = Node::load_file(file.path().string());
  ASSERT_TRUE(root.ok()) << error_of(root);
  auto size = root->child("pastry").value().integer("leaf_set_size", 2, 128);
  EXPECT_THAT(error_of(size), StartsWith(file.path().string() + ":2:18: pastry.leaf_set_size: "));
}

TEST(ConfigNode, SecondDocumentIsRefused) {
  auto root = Node::load_string("a: 1\n---\nb: 2\n", "node.yaml");
  EXPECT_EQ(code_of(root), CoreErrc::kConfigSyntax);
  EXPECT_THAT(error_of(root), StartsWith("node.yaml:2:1: a second YAML document"));
}

TEST(ConfigNode, EmptyDocumentIsAnEmptyMapping) {
  for (std::string_view text : {"", "# only a comment\n", "~\n"}) {
    Node root = load(text);
    EXPECT_TRUE(root.is_map());
    EXPECT_TRUE(root.allow_only_keys({}).ok());
    EXPECT_EQ(error_of(root.string("listen")), "node.yaml:1:1: missing required key 'listen'");
  }
}

TEST(ConfigNode, RootThatIsNotAMappingIsRefused) {
  Node root = load("just text\n");
  EXPECT_EQ(error_of(root.allow_only_keys({"a"})),
            "node.yaml:1:1: expected a mapping, got \"just text\"");
  EXPECT_EQ(error_of(root.string("a")), "node.yaml:1:1: expected a mapping, got \"just text\"");
  EXPECT_FALSE(root.has("a"));
}

TEST(ConfigNode, NestingDeeperThanTheLimitIsRefusedAtLoad) {
  std::string flow(kMaxDepth + 1, '[');
  EXPECT_THAT(error_of(Node::load_string(flow, "deep.yaml")),
              HasSubstr("nested deeper than 64 levels"));

  std::string block;
  for (int i = 0; i <= kMaxDepth; ++i)
    block += std::string(static_cast<std::size_t>(2 * i), ' ') + "k:\n";
  auto root = Node::load_string(block, "deep.yaml");
  EXPECT_EQ(code_of(root), CoreErrc::kConfigSyntax);
  EXPECT_THAT(error_of(root), StartsWith("deep.yaml:65:"));

  std::string at_limit(kMaxDepth, '[');
  at_limit += std::string(kMaxDepth, ']');
  EXPECT_TRUE(Node::load_string(at_limit).ok());
}

TEST(ConfigNode, SelfReferencingAliasStopsAtTheDepthLimit) {
  Node root = load("x: &loop {k: *loop}\n");
  Result<Node> node = root.child("x");
  int steps = 0;
  while (node.ok() && steps < 1000) {
    node = node->child("k");
    ++steps;
  }
  EXPECT_LT(steps, 100);
  EXPECT_THAT(error_of(node), HasSubstr("nested deeper than 64 levels"));
}

TEST(ConfigNode, AliasBombsAreNotExpanded) {
  std::string yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 30; ++i) {
    std::string prev = "*a" + std::to_string(i - 1);
    yaml += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + prev;
    for (int j = 1; j < 10; ++j) yaml += ", " + prev;
    yaml += "]\n";
  }
  yaml += "listen: here\n";
  Node root = load(yaml);
  EXPECT_EQ(root.string("listen").value(), "here");
  EXPECT_EQ(root.sequence("a29").value().size(), 10u);
  EXPECT_THAT(error_of(root.allow_only_keys({"listen"})), HasSubstr("unknown key 'a0'"));
}

TEST(ConfigNode, ChildOrEmptyStandsInForAMissingSection) {
  Node root = load("other: 1\n");
  Node pastry = root.child_or_empty("pastry").value();
  EXPECT_TRUE(pastry.is_map());
  EXPECT_EQ(pastry.path(), "pastry");
  EXPECT_EQ(pastry.integer_or("leaf_set_size", 2, 128, 24).value(), 24);
  EXPECT_TRUE(pastry.allow_only_keys({"leaf_set_size"}).ok());
}

TEST(ConfigNode, ChildMustBeAMapping) {
  Node root = load("pastry: 24\nlog:\n");
  EXPECT_EQ(error_of(root.child("pastry")),
            "node.yaml:1:9: pastry: expected a mapping, got \"24\"");
  EXPECT_EQ(error_of(root.child_or_empty("pastry")),
            "node.yaml:1:9: pastry: expected a mapping, got \"24\"");
  EXPECT_EQ(error_of(root.child("log")),
            "node.yaml:2:1: log: expected a mapping, got an empty value");
  EXPECT_EQ(error_of(root.child("identity")), "node.yaml:1:1: missing required key 'identity'");
}

TEST(ConfigNode, SequenceElementsNameTheirIndex) {
  Node root = load(
      "peers:\n"
      "  - a\n"
      "  - {b: 1}\n"
      "plugins:\n"
      "  - name: email\n"
      "  - name: im\n");
  EXPECT_EQ(error_of(root.string_list("peers")),
            "node.yaml:3:5: peers[1]: expected a string, got a mapping");
  std::vector<Node> plugins = root.sequence("plugins").value();
  ASSERT_EQ(plugins.size(), 2u);
  EXPECT_EQ(plugins[1].path(), "plugins[1]");
  EXPECT_EQ(plugins[1].location(), "node.yaml:6:5");
  EXPECT_EQ(plugins[1].string("name").value(), "im");
  EXPECT_EQ(error_of(plugins[0].string("version")),
            "node.yaml:5:5: plugins[0]: missing required key 'version'");
}

TEST(ConfigNode, MissingSequenceIsEmptyButAScalarIsRefused) {
  Node root = load("a: x\nb:\nc: [x, y]\n");
  EXPECT_TRUE(root.string_list("absent").value().empty());
  EXPECT_TRUE(root.string_list("b").value().empty());
  EXPECT_EQ(root.string_list("c").value(), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(error_of(root.sequence("a")), "node.yaml:1:4: a: expected a sequence, got \"x\"");
}

Result<int> parse_even(std::string_view text) {
  if (text == "2") return 2;
  return make_error(CoreErrc::kBadLength, "'" + std::string(text) + "' is not two");
}

TEST(ConfigNode, ParsedCarriesTheConvertersMessageAtTheValue) {
  Node root = load("n: 2\nm: 3\nlist: [2, 2, 5]\n");
  EXPECT_EQ(root.parsed("n", parse_even).value(), 2);
  auto m = root.parsed("m", parse_even);
  EXPECT_EQ(code_of(m), CoreErrc::kConfigBadValue);
  EXPECT_EQ(error_of(m), "node.yaml:2:4: m: '3' is not two");
  EXPECT_EQ(error_of(root.parsed_list("list", parse_even)),
            "node.yaml:3:14: list[2]: '5' is not two");
  EXPECT_EQ(error_of(root.parsed("absent", parse_even)),
            "node.yaml:1:1: missing required key 'absent'");
}

TEST(ConfigNode, BadValueLocatesTheKey) {
  Node root = load("pastry:\n  leaf_set_size: 23\n");
  Node pastry = root.child("pastry").value();
  EXPECT_EQ(pastry.bad_value("leaf_set_size", "must be even").message,
            "node.yaml:2:18: pastry.leaf_set_size: must be even");
  EXPECT_EQ(pastry.bad_value("absent", "is needed").message,
            "node.yaml:2:3: pastry.absent: is needed");
}

TEST(ConfigNode, OversizedDocumentIsRefused) {
  std::string text(kMaxDocumentBytes + 1, '#');
  EXPECT_THAT(error_of(Node::load_string(text, "big.yaml")), StartsWith("big.yaml: larger than"));
}

TEST(ConfigQuote, EscapesControlCharactersAndCutsLongText) {
  EXPECT_EQ(quote("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\x01\"");
  EXPECT_EQ(quote(std::string(100, 'x')), "\"" + std::string(64, 'x') + "...\"");
}

TEST(ConfigFormatDuration, PicksTheLargestUnitThatDividesIt) {
  EXPECT_EQ(format_duration(Duration::zero()), "0s");
  EXPECT_EQ(format_duration(milliseconds(250)), "250ms");
  EXPECT_EQ(format_duration(milliseconds(1500)), "1500ms");
  EXPECT_EQ(format_duration(seconds(20)), "20s");
  EXPECT_EQ(format_duration(minutes(15)), "15m");
  EXPECT_EQ(format_duration(hours(168)), "168h");
  EXPECT_EQ(format_duration(Duration(7)), "7ns");
}

}  // namespace
}  // namespace post::config
