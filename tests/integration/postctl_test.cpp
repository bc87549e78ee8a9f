// The real postctl binary against an admin endpoint served in this process by a fake handler
// with known answers: every command in text and --json form, the node's errors, the
// configuration file, and the ways a node can be unreachable, each with its exit code.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include "host/core/certificate.h"
#include "host/core/id.h"
#include "host/daemon/admin_server.h"
#include "host/past/block.h"
#include "tests/support/process.h"
#include "tests/support/test_support.h"

extern char** environ;

namespace post::daemon {
namespace {

namespace asio = boost::asio;
namespace admin = proto::admin;
using namespace std::chrono_literals;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using Json = nlohmann::json;

const Id kSelf = Id::hash_of(as_bytes("node self"));
const Id kCcw1 = Id::hash_of(as_bytes("node ccw 1"));
const Id kCcw2 = Id::hash_of(as_bytes("node ccw 2"));
const Id kCw1 = Id::hash_of(as_bytes("node cw 1"));
const Id kRoot = Id::hash_of(as_bytes("node root"));
const std::string kGoodKey = std::string(63, '0') + "1";
const std::string kFailingKey = std::string(64, 'f');
const std::string kSilentKey = std::string(64, 'e');

void set_node(admin::Node* n, const Id& id, const std::string& address) {
  n->set_id(id.bytes().data(), id.bytes().size());
  n->set_address(address);
}

// Known answers to every command. Lookups answer later, from the io_context, as a real one
// crossing the network does.
class CannedNode : public AdminHandler {
 public:
  explicit CannedNode(asio::io_context& io) : io_(io) {}

  void handle(const admin::AdminRequest& request,
              std::function<void(admin::AdminResponse)> reply) override {
    admin::AdminResponse r;
    switch (request.kind_case()) {
      case admin::AdminRequest::kStatus: {
        auto* s = r.mutable_status();
        set_node(s->mutable_self(), kSelf, "127.0.0.1:4000");
        s->set_ring("acme");
        s->set_state(admin::JOIN_STATE_READY);
        s->set_uptime_ms(3723004);  // 1h 02m 03s
        s->set_version("postd 9.9.9");
        s->set_leaf_set_size(3);
        s->set_leaf_set_capacity(24);
        s->set_leaf_set_complete(false);
        s->set_routing_entries(5);
        s->set_routing_rows(2);
        s->set_routing_max_rows(64);
        s->set_digit_bits(4);
        s->set_links(2);
        s->set_failed_nodes(1);
        auto* p = s->mutable_pastry();
        p->set_routed_originated(1);
        p->set_forwarded(2);
        p->set_delivered(3);
        p->set_rerouted(4);
        p->set_dropped(5);
        p->set_failures_detected(6);
        p->set_joins_answered(7);
        p->set_messages_refused(8);
        auto* t = s->mutable_transport();
        t->set_links_accepted(11);
        t->set_links_dialled(12);
        t->set_handshakes_failed(13);
        t->set_frames_refused(14);
        t->set_links_refused_full(15);
        t->set_messages_delivered(16);
        t->set_messages_dropped_no_handler(17);
        auto* n = s->mutable_notifications();
        n->set_users(2);
        n->set_held_now(4);
        n->set_sent_direct(21);
        n->set_sent_delegated(22);
        n->set_send_failures(23);
        n->set_held(24);
        n->set_delivered_by_delegate(25);
        n->set_expired(26);
        n->set_received(27);
        n->set_duplicates(28);
        n->set_refused(29);
        n->set_messages_refused(30);
        n->set_presence_announcements(31);
        break;
      }
      case admin::AdminRequest::kLeafSet: {
        auto* l = r.mutable_leaf_set();
        set_node(l->mutable_self(), kSelf, "127.0.0.1:4000");
        l->set_capacity(24);
        l->set_complete(false);
        l->set_size(3);
        auto add = [&](const Id& id, const std::string& address, admin::Side side,
                       std::uint32_t position, std::optional<std::uint64_t> rtt_ns) {
          auto* m = l->add_members();
          set_node(m->mutable_node(), id, address);
          m->set_side(side);
          m->set_position(position);
          if (rtt_ns) m->set_rtt_ns(*rtt_ns);
        };
        add(kCcw2, "127.0.0.1:4002", admin::SIDE_COUNTER_CLOCKWISE, 2, 350'000);
        add(kCcw1, "127.0.0.1:4001", admin::SIDE_COUNTER_CLOCKWISE, 1, 1'234'567);
        add(kCw1, "10.0.0.1:40003", admin::SIDE_CLOCKWISE, 1, std::nullopt);
        break;
      }
      case admin::AdminRequest::kRoutes: {
        auto* t = r.mutable_routes();
        set_node(t->mutable_self(), kSelf, "127.0.0.1:4000");
        t->set_digit_bits(4);
        t->set_rows(2);
        t->set_max_rows(64);
        auto* e = t->add_entries();
        e->set_row(0);
        e->set_column(10);
        set_node(e->mutable_node(), kCcw1, "127.0.0.1:4001");
        e->set_rtt_ns(1'500'000);
        e = t->add_entries();
        e->set_row(1);
        e->set_column(3);
        set_node(e->mutable_node(), kCw1, "10.0.0.1:40003");
        break;
      }
      case admin::AdminRequest::kPeers: {
        auto* p = r.mutable_peers();
        set_node(p->mutable_self(), kSelf, "127.0.0.1:4000");
        auto* l = p->add_links();
        set_node(l->mutable_peer(), kCcw1, "127.0.0.1:4001");
        l->set_outgoing(true);
        l->set_rtt_ns(250'000);
        l->set_frames_in(5);
        l->set_frames_out(6);
        l = p->add_links();
        set_node(l->mutable_peer(), kCw1, "10.0.0.1:40003");
        l->set_outgoing(false);
        l->set_queued_bytes(4096);
        l->set_frames_in(70);
        l->set_frames_out(80);
        break;
      }
      case admin::AdminRequest::kLookup: {
        const std::string& key = request.lookup().hex();
        if (key == kSilentKey) {
          silent_.push_back(std::move(reply));  // never answered
          return;
        }
        if (key == kFailingKey) {
          r = admin_error("lookup of " + key + " failed: no route within 30 s");
        } else {
          auto* l = r.mutable_lookup();
          auto id = Id::from_hex(key);
          l->set_key(id->bytes().data(), id->bytes().size());
          set_node(l->mutable_root(), kRoot, "127.0.0.1:4009");
          l->set_hops(2);
          set_node(l->add_path(), kSelf, "127.0.0.1:4000");
          set_node(l->add_path(), kCcw1, "127.0.0.1:4001");
          set_node(l->add_path(), kRoot, "127.0.0.1:4009");
          l->set_latency_ns(12'500'000);
        }
        asio::post(io_, [reply = std::move(reply), r]() mutable { reply(std::move(r)); });
        return;
      }
      case admin::AdminRequest::kPut: {
        auto* p = r.mutable_put();
        Id handle = past::content_handle(as_bytes(request.put().content()));
        p->set_handle(handle.bytes().data(), handle.bytes().size());
        set_node(p->add_stored_on(), kRoot, "127.0.0.1:4009");
        set_node(p->add_stored_on(), kCcw1, "127.0.0.1:4001");
        set_node(p->add_stored_on(), kSelf, "127.0.0.1:4000");
        break;
      }
      case admin::AdminRequest::kGet: {
        auto* g = r.mutable_get();
        g->set_kind("content-hash");
        g->set_payload(std::string("stored\0bytes", 12));
        break;
      }
      case admin::AdminRequest::kSubscribe: {
        auto* sub = r.mutable_subscribe();
        Id group = Id::hash_of(as_bytes(request.subscribe().group().name()));
        sub->set_group(group.bytes().data(), group.bytes().size());
        set_node(sub->mutable_parent(), kCcw1, "127.0.0.1:4001");
        break;
      }
      case admin::AdminRequest::kUnsubscribe:
        r = admin_error("not subscribed to group '" + request.unsubscribe().group().name() +
                        "' through the admin endpoint");
        break;
      case admin::AdminRequest::kPublish: {
        Id group = Id::hash_of(as_bytes(request.publish().group().name()));
        r.mutable_publish()->set_group(group.bytes().data(), group.bytes().size());
        last_published_ = request.publish().payload();
        break;
      }
      case admin::AdminRequest::kReceived: {
        auto* got = r.mutable_received();
        auto add = [&](std::uint64_t index, std::string payload, bool anycast) {
          auto* m = got->add_messages();
          m->set_index(index);
          m->set_payload(std::move(payload));
          m->set_anycast(anycast);
        };
        if (request.received().after() < 1) add(1, "hello", false);
        if (request.received().after() < 2) add(2, std::string("\x01\x02", 2), false);
        if (request.received().after() < 3) add(3, "job", true);
        got->set_last_index(3);
        got->set_discarded(4);
        break;
      }
      case admin::AdminRequest::kAnycast:
        set_node(r.mutable_anycast()->mutable_member(), kCw1, "10.0.0.1:40003");
        break;
      case admin::AdminRequest::kGroups: {
        auto* g = r.mutable_groups();
        set_node(g->mutable_self(), kSelf, "127.0.0.1:4000");
        auto* news = g->add_groups();
        Id id = Id::hash_of(as_bytes(std::string("news")));
        news->set_group(id.bytes().data(), id.bytes().size());
        news->set_name("news");
        news->set_member(true);
        set_node(news->mutable_parent(), kCcw1, "127.0.0.1:4001");
        set_node(news->add_children(), kCw1, "10.0.0.1:40003");
        auto* other = g->add_groups();
        other->set_group(kRoot.bytes().data(), kRoot.bytes().size());
        other->set_root(true);
        set_node(other->add_children(), kCcw1, "127.0.0.1:4001");
        set_node(other->add_children(), kCcw2, "127.0.0.1:4002");
        break;
      }
      case admin::AdminRequest::kUsers: {
        auto* u = r.mutable_users();
        set_node(u->mutable_self(), kSelf, "127.0.0.1:4000");
        auto* alice = u->add_users();
        alice->set_email("alice@example.org");
        alice->set_name("Alice Liddell");
        alice->set_received(3);
        alice->set_published(true);
        alice->set_signing_key(to_string(kCcw1.view()));
        auto* bob = u->add_users();
        bob->set_email("bob@example.org");
        bob->set_name("Bob");
        bob->set_puzzle_bits(12);
        break;
      }
      case admin::AdminRequest::kNotify: {
        const auto& n = request.notify();
        last_notify_ = n;
        if (n.from() != "alice@example.org") {
          r = admin_error("'" + n.from() + "' is not a user this node serves");
          break;
        }
        auto* out = r.mutable_notify();
        out->set_id(to_string(kRoot.view()));
        if (n.to() == "bob@example.org") {
          set_node(out->add_nodes(), kCw1, "10.0.0.1:40003");
        } else {
          out->set_delegated(true);
          set_node(out->add_nodes(), kCcw1, "127.0.0.1:4001");
          set_node(out->add_nodes(), kCcw2, "127.0.0.1:4002");
          set_node(out->add_nodes(), kRoot, "127.0.0.1:4009");
        }
        break;
      }
      case admin::AdminRequest::kNotifications: {
        auto* got = r.mutable_notifications();
        got->set_user(request.notifications().user());
        auto add = [&](std::uint64_t index, const Id& id, std::string data, bool content) {
          if (index <= request.notifications().after()) return;
          auto* m = got->add_notifications();
          m->set_index(index);
          m->set_id(to_string(id.view()));
          m->set_sender_email("bob@example.org");
          m->set_application("chat");
          m->set_app_data(std::move(data));
          m->set_created_unix_ms(1764121550000);   // 2025-11-26 01:45:50 UTC
          m->set_received_unix_ms(1764121551500);  // 2025-11-26 01:45:51 UTC
          if (content) m->set_content_handle(to_string(kCw1.view()));
        };
        add(1, kCcw1, "hello alice", false);
        add(2, kCcw2, std::string("\x00\xff", 2), true);
        got->set_last_index(2);
        break;
      }
      case admin::AdminRequest::kBlockSender: {
        auto* b = r.mutable_block_sender();
        b->set_user(request.block_sender().user());
        b->set_sender(request.block_sender().sender());
        b->set_blocked(!request.block_sender().unblock());
        break;
      }
      case admin::AdminRequest::kPlugins:
      case admin::AdminRequest::kPluginAction:
      case admin::AdminRequest::kPluginCommand:  // plugins: tests/integration/plugin_test.cpp
      case admin::AdminRequest::KIND_NOT_SET: break;
    }
    reply(std::move(r));
  }

  std::string last_published_;
  admin::NotifyRequest last_notify_;

 private:
  asio::io_context& io_;
  std::vector<std::function<void(admin::AdminResponse)>> silent_;
};

struct Outcome {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class Postctl : public ::testing::Test {
 protected:
  void SetUp() override {
    server = std::make_unique<AdminServer>(io, testing::loopback_any_port(), node);
    auto s = server->start();
    ASSERT_TRUE(s.ok()) << s.error().to_string();
    admin_address = server->address().to_string();
    io_thread = std::thread([this] { io.run(); });
  }

  void TearDown() override {
    asio::post(io, [this] {
      server.reset();
      io.stop();
    });
    work.reset();
    io_thread.join();
  }

  // Runs postctl with `args`; stdout and stderr apart.
  Outcome postctl(std::vector<std::string> args, std::chrono::milliseconds timeout = 30s) {
    std::string out = dir.file("out" + std::to_string(runs));
    std::string err = dir.file("err" + std::to_string(runs));
    ++runs;
    args.insert(args.begin(), POSTCTL_BIN);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid = -1;
    int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    Outcome run;
    if (rc != 0) {
      ADD_FAILURE() << "cannot start " << argv[0] << ": " << std::strerror(rc);
      return run;
    }
    auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (::waitpid(pid, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        ADD_FAILURE() << "postctl did not finish within the test's timeout";
        return run;
      }
      std::this_thread::sleep_for(5ms);
    }
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    run.out = read_all(out);
    run.err = read_all(err);
    return run;
  }

  // postctl --admin <server> [--json] args..., expected to succeed.
  std::string ok(std::vector<std::string> args) {
    args.insert(args.begin(), {"--admin", admin_address});
    Outcome r = postctl(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.err, IsEmpty());
    return r.out;
  }
  Json ok_json(std::vector<std::string> args) {
    args.insert(args.begin(), "--json");
    std::string out = ok(std::move(args));
    Json j = Json::parse(out, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(j.is_discarded()) << "not JSON: " << out;
    EXPECT_TRUE(j.is_object()) << out;
    return j;
  }

  testing::TempDir dir;
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
  CannedNode node{io};
  std::unique_ptr<AdminServer> server;
  std::string admin_address;
  std::thread io_thread;
  int runs = 0;
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The column where `text` starts in the line that contains `anchor`, or npos.
std::size_t column_of(const std::vector<std::string>& lines, const std::string& anchor,
                      const std::string& text) {
  for (const auto& l : lines) {
    if (l.find(anchor) != std::string::npos) return l.find(text);
  }
  return std::string::npos;
}

TEST_F(Postctl, StatusShowsTheFullNodeIdAndEveryFact) {
  std::string out = ok({"status"});
  EXPECT_THAT(out, HasSubstr(kSelf.to_hex()));
  EXPECT_THAT(out, HasSubstr("127.0.0.1:4000"));
  EXPECT_THAT(out, HasSubstr("acme"));
  EXPECT_THAT(out, HasSubstr("ready"));
  EXPECT_THAT(out, HasSubstr("1h 02m 03s"));
  EXPECT_THAT(out, HasSubstr("postd 9.9.9"));
  EXPECT_THAT(out, HasSubstr("3 of 24 (incomplete)"));
  EXPECT_THAT(out, HasSubstr("5 entries in 2 of 64 rows (b = 4)"));
  EXPECT_THAT(out, HasSubstr("failed nodes"));
  EXPECT_THAT(out, HasSubstr("joins answered"));
  EXPECT_THAT(out, HasSubstr("dropped (no handler)"));
  // Values line up in one column.
  auto lines = lines_of(out);
  EXPECT_EQ(column_of(lines, "node id", kSelf.to_hex()), column_of(lines, "uptime", "1h"));
}

TEST_F(Postctl, StatusAsJson) {
  Json j = ok_json({"status"});
  EXPECT_EQ(j["node_id"], kSelf.to_hex());
  EXPECT_EQ(j["address"], "127.0.0.1:4000");
  EXPECT_EQ(j["ring"], "acme");
  EXPECT_EQ(j["state"], "ready");
  EXPECT_EQ(j["uptime_ms"], 3723004);
  EXPECT_EQ(j["version"], "postd 9.9.9");
  EXPECT_EQ(j["leaf_set"]["size"], 3);
  EXPECT_EQ(j["leaf_set"]["capacity"], 24);
  EXPECT_EQ(j["leaf_set"]["complete"], false);
  EXPECT_EQ(j["routing_table"]["entries"], 5);
  EXPECT_EQ(j["routing_table"]["rows"], 2);
  EXPECT_EQ(j["routing_table"]["max_rows"], 64);
  EXPECT_EQ(j["routing_table"]["digit_bits"], 4);
  EXPECT_EQ(j["links"], 2);
  EXPECT_EQ(j["failed_nodes"], 1);
  EXPECT_EQ(j["pastry"]["routed_originated"], 1);
  EXPECT_EQ(j["pastry"]["messages_refused"], 8);
  EXPECT_EQ(j["transport"]["links_accepted"], 11);
  EXPECT_EQ(j["transport"]["messages_dropped_no_handler"], 17);
}

TEST_F(Postctl, LeafSetIsATableInRingOrderWithTheNodeInTheMiddle) {
  auto lines = lines_of(ok({"leafset"}));
  ASSERT_GE(lines.size(), 7u);
  EXPECT_THAT(lines[0], HasSubstr("3 of 24 members, incomplete"));
  EXPECT_THAT(lines[2], HasSubstr("SIDE"));
  EXPECT_THAT(lines[3], HasSubstr(kCcw2.short_hex()));
  EXPECT_THAT(lines[3], HasSubstr("0.35 ms"));
  EXPECT_THAT(lines[4], HasSubstr(kCcw1.short_hex()));
  EXPECT_THAT(lines[4], HasSubstr("1.23 ms"));
  EXPECT_THAT(lines[5], HasSubstr("self"));
  EXPECT_THAT(lines[5], HasSubstr(kSelf.short_hex()));
  EXPECT_THAT(lines[6], HasSubstr(kCw1.short_hex()));
  EXPECT_EQ(lines[6].back(), '?');
  // Aligned: each column starts at the same place on every line.
  std::size_t address = lines[2].find("ADDRESS");
  EXPECT_EQ(lines[3].find("127.0.0.1:4002"), address);
  EXPECT_EQ(lines[6].find("10.0.0.1:40003"), address);
  std::size_t rtt_end = lines[2].size();
  EXPECT_EQ(lines[3].size(), rtt_end);
  EXPECT_EQ(lines[6].size(), rtt_end);
}

TEST_F(Postctl, LeafSetAsJson) {
  Json j = ok_json({"leafset"});
  EXPECT_EQ(j["node_id"], kSelf.to_hex());
  EXPECT_EQ(j["capacity"], 24);
  EXPECT_EQ(j["size"], 3);
  ASSERT_EQ(j["members"].size(), 3u);
  EXPECT_EQ(j["members"][0]["side"], "ccw");
  EXPECT_EQ(j["members"][0]["position"], 2);
  EXPECT_EQ(j["members"][0]["node_id"], kCcw2.to_hex());
  EXPECT_EQ(j["members"][0]["address"], "127.0.0.1:4002");
  EXPECT_DOUBLE_EQ(j["members"][0]["rtt_ms"].get<double>(), 0.35);
  EXPECT_EQ(j["members"][2]["side"], "cw");
  EXPECT_TRUE(j["members"][2]["rtt_ms"].is_null());
}

TEST_F(Postctl, RoutesShowsRowColumnAndRtt) {
  auto lines = lines_of(ok({"routes"}));
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_THAT(lines[0], HasSubstr("2 entries in 2 of 64 rows, b = 4"));
  EXPECT_THAT(lines[2], HasSubstr("ROW  COL  ID"));
  EXPECT_THAT(lines[3], HasSubstr("  0    a  " + kCcw1.short_hex()));
  EXPECT_THAT(lines[3], HasSubstr("1.50 ms"));
  EXPECT_THAT(lines[4], HasSubstr("  1    3  " + kCw1.short_hex()));
  EXPECT_EQ(lines[4].back(), '?');
}

TEST_F(Postctl, RoutesAsJson) {
  Json j = ok_json({"routes"});
  EXPECT_EQ(j["digit_bits"], 4);
  EXPECT_EQ(j["rows"], 2);
  EXPECT_EQ(j["max_rows"], 64);
  ASSERT_EQ(j["entries"].size(), 2u);
  EXPECT_EQ(j["entries"][0]["row"], 0);
  EXPECT_EQ(j["entries"][0]["column"], 10);
  EXPECT_EQ(j["entries"][0]["node_id"], kCcw1.to_hex());
  EXPECT_DOUBLE_EQ(j["entries"][0]["rtt_ms"].get<double>(), 1.5);
  EXPECT_TRUE(j["entries"][1]["rtt_ms"].is_null());
}

TEST_F(Postctl, PeersShowsEachLinkWithItsRtt) {
  auto lines = lines_of(ok({"peers"}));
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_THAT(lines[0], HasSubstr("2 link(s) of " + kSelf.short_hex()));
  EXPECT_THAT(lines[2], HasSubstr("DIR"));
  EXPECT_THAT(lines[3], HasSubstr("out  " + kCcw1.short_hex()));
  EXPECT_THAT(lines[3], HasSubstr("0.25 ms"));
  EXPECT_THAT(lines[4], HasSubstr("in   " + kCw1.short_hex()));
  EXPECT_THAT(lines[4], HasSubstr("4096"));
  std::size_t rtt_end = lines[2].find("RTT") + 3;
  EXPECT_EQ(lines[3].find("0.25 ms") + 7, rtt_end);
  EXPECT_EQ(lines[4].find('?') + 1, rtt_end);
}

TEST_F(Postctl, PeersAsJson) {
  Json j = ok_json({"peers"});
  ASSERT_EQ(j["links"].size(), 2u);
  EXPECT_EQ(j["links"][0]["node_id"], kCcw1.to_hex());
  EXPECT_EQ(j["links"][0]["direction"], "out");
  EXPECT_DOUBLE_EQ(j["links"][0]["rtt_ms"].get<double>(), 0.25);
  EXPECT_EQ(j["links"][0]["frames_in"], 5);
  EXPECT_EQ(j["links"][0]["frames_out"], 6);
  EXPECT_EQ(j["links"][1]["direction"], "in");
  EXPECT_TRUE(j["links"][1]["rtt_ms"].is_null());
  EXPECT_EQ(j["links"][1]["queued_bytes"], 4096);
}

TEST_F(Postctl, LookupShowsTheRootAndThePath) {
  std::string out = ok({"lookup", kGoodKey});
  EXPECT_THAT(out, HasSubstr(kGoodKey));
  EXPECT_THAT(out, HasSubstr(kRoot.to_hex()));
  EXPECT_THAT(out, HasSubstr("127.0.0.1:4009"));
  EXPECT_THAT(out, HasSubstr("12.50 ms"));
  auto lines = lines_of(out);
  ASSERT_GE(lines.size(), 4u);
  EXPECT_THAT(lines[lines.size() - 3], HasSubstr("0  " + kSelf.short_hex()));
  EXPECT_THAT(lines[lines.size() - 1], HasSubstr("2  " + kRoot.short_hex()));
}

TEST_F(Postctl, LookupAsJson) {
  Json j = ok_json({"lookup", kGoodKey});
  EXPECT_EQ(j["key"], kGoodKey);
  EXPECT_EQ(j["root"]["node_id"], kRoot.to_hex());
  EXPECT_EQ(j["root"]["address"], "127.0.0.1:4009");
  EXPECT_EQ(j["hops"], 2);
  EXPECT_DOUBLE_EQ(j["latency_ms"].get<double>(), 12.5);
  ASSERT_EQ(j["path"].size(), 3u);
  EXPECT_EQ(j["path"][1]["node_id"], kCcw1.to_hex());
}

TEST_F(Postctl, PutPrintsTheHandleAndGetWritesThePayloadExactly) {
  std::string file = dir.file("letter.txt");
  ASSERT_TRUE(write_file(file, "dear node", false).ok());
  Outcome put = postctl({"--admin", admin_address, "put", file});
  EXPECT_EQ(put.exit_code, 0) << put.err;
  EXPECT_EQ(put.out, past::content_handle(as_bytes("dear node")).to_hex() + "\n");
  EXPECT_THAT(put.err, HasSubstr("stored on 3 replicas"));

  std::string copy = dir.file("copy.bin");
  Outcome get = postctl({"--admin", admin_address, "get", kGoodKey, "-o", copy});
  EXPECT_EQ(get.exit_code, 0) << get.err;
  EXPECT_EQ(read_all(copy), std::string("stored\0bytes", 12));
  Json j = ok_json({"get", kGoodKey});
  EXPECT_EQ(j["kind"], "content-hash");
  EXPECT_EQ(j["size"], 12);

  Outcome missing = postctl({"--admin", admin_address, "put", dir.file("no-such-file")});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, HasSubstr("cannot read"));
  Outcome bad = postctl({"--admin", admin_address, "get", "xyz"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("'xyz' is not a block handle"));
}

TEST_F(Postctl, GroupCommandsPrintWhatTheNodeSays) {
  const std::string news = Id::hash_of(as_bytes(std::string("news"))).to_hex();
  Outcome sub = postctl({"--admin", admin_address, "subscribe", "news"});
  EXPECT_EQ(sub.exit_code, 0) << sub.err;
  EXPECT_EQ(sub.out, "subscribed to " + news + " (parent " + kCcw1.short_hex() +
                         " at 127.0.0.1:4001)\n");

  Outcome pub = postctl({"--admin", admin_address, "publish", "news", "hello all"});
  EXPECT_EQ(pub.exit_code, 0) << pub.err;
  EXPECT_EQ(pub.out, "published to " + news + "\n");
  std::string file = dir.file("message.bin");
  ASSERT_TRUE(write_file(file, std::string("a\0b", 3), false).ok());
  EXPECT_EQ(postctl({"--admin", admin_address, "publish", "news", "-f", file}).exit_code, 0);
  EXPECT_EQ(node.last_published_, std::string("a\0b", 3));

  // One line per message; a payload that is not printable in base64.
  Outcome got = postctl({"--admin", admin_address, "received", "news"});
  EXPECT_EQ(got.exit_code, 0) << got.err;
  EXPECT_EQ(got.out, "1 hello\n2 base64:AQI=\n3 anycast job\n");
  EXPECT_THAT(got.err, HasSubstr("3 message(s); last index 3; 4 older ones discarded"));
  Json after = ok_json({"received", "news", "--after", "2"});
  ASSERT_EQ(after["messages"].size(), 1u);
  EXPECT_EQ(after["messages"][0]["payload_base64"], "am9i");

  Outcome groups = postctl({"--admin", admin_address, "groups"});
  EXPECT_EQ(groups.exit_code, 0) << groups.err;
  EXPECT_THAT(groups.out, HasSubstr("2 group(s) at " + kSelf.short_hex()));
  EXPECT_THAT(groups.out, ContainsRegex("news +member +" + kCcw1.short_hex() + " +1"));
  EXPECT_THAT(groups.out, ContainsRegex("root +- +2"));

  Outcome any = postctl({"--admin", admin_address, "anycast", "news", "job"});
  EXPECT_EQ(any.exit_code, 0) << any.err;
  EXPECT_EQ(any.out, "accepted by " + kCw1.to_hex() + " at 10.0.0.1:40003\n");

  // Errors: the node's (exit 1), and the command line's (exit 2).
  Outcome unsub = postctl({"--admin", admin_address, "unsubscribe", "sports"});
  EXPECT_EQ(unsub.exit_code, 1);
  EXPECT_THAT(unsub.err, HasSubstr("not subscribed to group 'sports'"));
  Outcome no_message = postctl({"--admin", admin_address, "publish", "news"});
  EXPECT_EQ(no_message.exit_code, 2);
  EXPECT_THAT(no_message.err, HasSubstr("give the MESSAGE, or --file FILE"));
  Outcome bad_id = postctl({"--admin", admin_address, "received", "--id", "abc"});
  EXPECT_EQ(bad_id.exit_code, 2);
  EXPECT_THAT(bad_id.err, HasSubstr("'abc' is not a group id"));
}

TEST_F(Postctl, StatusShowsTheNotificationCounters) {
  std::string out = ok({"status"});
  EXPECT_THAT(out, HasSubstr("notifications\n"));
  EXPECT_THAT(out, ContainsRegex("users served +2"));
  EXPECT_THAT(out, ContainsRegex("sent +21 direct, 22 delegated \\(23 failed\\)"));
  EXPECT_THAT(out,
              ContainsRegex("held for others +4 now \\(24 taken, 25 delivered, 26 expired\\)"));
  Json j = ok_json({"status"});
  EXPECT_EQ(j["notifications"]["users"], 2);
  EXPECT_EQ(j["notifications"]["held_now"], 4);
  EXPECT_EQ(j["notifications"]["sent_delegated"], 22);
  EXPECT_EQ(j["notifications"]["received"], 27);
  EXPECT_EQ(j["notifications"]["presence_announcements"], 31);
}

TEST_F(Postctl, UsersShowsEachServedUser) {
  auto lines = lines_of(ok({"users"}));
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0], "2 user(s) served by " + kSelf.short_hex() + " (127.0.0.1:4000)");
  EXPECT_THAT(lines[2], ContainsRegex("EMAIL +NAME +PUZZLE +RECEIVED +PUBLISHED"));
  EXPECT_THAT(lines[3], ContainsRegex("alice@example.org +Alice Liddell +0 +3 +yes"));
  EXPECT_THAT(lines[4], ContainsRegex("bob@example.org +Bob +12 +0 +not yet"));
  Json j = ok_json({"users"});
  ASSERT_EQ(j["users"].size(), 2u);
  EXPECT_EQ(j["users"][0]["email"], "alice@example.org");
  EXPECT_EQ(j["users"][0]["published"], true);
  EXPECT_EQ(j["users"][0]["signing_key"], kCcw1.to_hex());
  EXPECT_EQ(j["users"][1]["puzzle_bits"], 12);
}

TEST_F(Postctl, NotifyPrintsTheIdAndHowItLeft) {
  Outcome direct = postctl({"--admin", admin_address, "notify", "--from", "alice@example.org",
                            "--to", "bob@example.org", "--data", "hi bob"});
  EXPECT_EQ(direct.exit_code, 0) << direct.err;
  EXPECT_EQ(direct.out, kRoot.to_hex() + "\n");
  EXPECT_EQ(direct.err,
            "direct to " + kCw1.short_hex() + " (10.0.0.1:40003), the recipient's node\n");
  EXPECT_EQ(node.last_notify_.application(), "postctl");
  EXPECT_EQ(node.last_notify_.app_data(), "hi bob");

  std::string file = dir.file("data.bin");
  ASSERT_TRUE(write_file(file, std::string("a\0b", 3), false).ok());
  Outcome delegated = postctl({"--admin", admin_address, "notify", "--from", "alice@example.org",
                               "--to", "carol@example.org", "--app", "mail", "--data-file", file});
  EXPECT_EQ(delegated.exit_code, 0) << delegated.err;
  EXPECT_THAT(delegated.err, HasSubstr("delegated to 3 nodes: " + kCcw1.short_hex()));
  EXPECT_EQ(node.last_notify_.application(), "mail");
  EXPECT_EQ(node.last_notify_.app_data(), std::string("a\0b", 3));

  Json j = ok_json({"notify", "--from", "alice@example.org", "--to", "carol@example.org"});
  EXPECT_EQ(j["id"], kRoot.to_hex());
  EXPECT_EQ(j["path"], "delegated");
  ASSERT_EQ(j["nodes"].size(), 3u);
  EXPECT_EQ(j["nodes"][2]["node_id"], kRoot.to_hex());
  EXPECT_EQ(ok_json({"notify", "--from", "alice@example.org", "--to", "bob@example.org"})["path"],
            "direct");

  // The node's refusal (exit 1), and the command line's mistakes (exit 2).
  Outcome stranger = postctl(
      {"--admin", admin_address, "notify", "--from", "eve@example.org", "--to", "bob@example.org"});
  EXPECT_EQ(stranger.exit_code, 1);
  EXPECT_THAT(stranger.err, HasSubstr("could not answer notify: 'eve@example.org' is not a user "
                                      "this node serves"));
  Outcome both = postctl({"--admin", admin_address, "notify", "--from", "a@x", "--to", "b@x",
                          "--data", "x", "--data-file", file});
  EXPECT_EQ(both.exit_code, 2);
  Outcome no_to = postctl({"--admin", admin_address, "notify", "--from", "a@x"});
  EXPECT_EQ(no_to.exit_code, 2);
  EXPECT_THAT(no_to.err, HasSubstr("--to"));
  Outcome too_big = postctl({"--admin", admin_address, "notify", "--from", "a@x", "--to", "b@x",
                             "--data", std::string(16 * 1024 + 1, 'x')});
  EXPECT_EQ(too_big.exit_code, 2);
  EXPECT_THAT(too_big.err, HasSubstr("the data is 16385 bytes; a notification carries at most"));
  Outcome missing = postctl({"--admin", admin_address, "notify", "--from", "a@x", "--to", "b@x",
                             "--data-file", dir.file("no-such-file")});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, HasSubstr("cannot read"));
}

TEST_F(Postctl, NotificationsListsWhatTheUserReceived) {
  Outcome got = postctl({"--admin", admin_address, "notifications", "--user", "alice@example.org"});
  EXPECT_EQ(got.exit_code, 0) << got.err;
  auto lines = lines_of(got.out);
  ASSERT_EQ(lines.size(), 3u) << got.out;
  EXPECT_THAT(lines[0], ContainsRegex("# +ID +FROM +APP +CREATED +RECEIVED +DATA +CONTENT"));
  EXPECT_THAT(lines[1], ContainsRegex("1 +" + kCcw1.short_hex() +
                                      " +bob@example.org +chat +2025-11-26 01:45:50 +"
                                      "2025-11-26 01:45:51 +hello alice +-"));
  EXPECT_THAT(lines[2],
              ContainsRegex("2 +" + kCcw2.short_hex() + " .* base64:AP8= +" + kCw1.short_hex()));
  EXPECT_EQ(got.err, "2 notification(s) for alice@example.org; last index 2 (times UTC)\n");

  Json after = ok_json({"notifications", "--user", "alice@example.org", "--after", "1"});
  EXPECT_EQ(after["user"], "alice@example.org");
  EXPECT_EQ(after["last_index"], 2);
  ASSERT_EQ(after["notifications"].size(), 1u);
  const Json& n = after["notifications"][0];
  EXPECT_EQ(n["index"], 2);
  EXPECT_EQ(n["id"], kCcw2.to_hex());
  EXPECT_EQ(n["sender_email"], "bob@example.org");
  EXPECT_EQ(n["application"], "chat");
  EXPECT_EQ(n["created_unix_ms"], 1764121550000);
  EXPECT_EQ(n["received_unix_ms"], 1764121551500);
  EXPECT_EQ(n["size"], 2);
  EXPECT_EQ(n["app_data_base64"], "AP8=");
  EXPECT_EQ(n["content_handle"], kCw1.to_hex());
  Json first = ok_json({"notifications", "--user", "alice@example.org"});
  EXPECT_TRUE(first["notifications"][0]["content_handle"].is_null());

  Outcome no_user = postctl({"--admin", admin_address, "notifications"});
  EXPECT_EQ(no_user.exit_code, 2);
  EXPECT_THAT(no_user.err, HasSubstr("--user"));
}

TEST_F(Postctl, BlockAndUnblockASender) {
  Outcome block = postctl({"--admin", admin_address, "block", "--user", "alice@example.org",
                           "--sender", "eve@example.org"});
  EXPECT_EQ(block.exit_code, 0) << block.err;
  EXPECT_EQ(block.out,
            "notifications from eve@example.org to alice@example.org are refused from now on\n");
  Json unblock = ok_json({"unblock", "--user", "alice@example.org", "--sender", "eve@example.org"});
  EXPECT_EQ(unblock["user"], "alice@example.org");
  EXPECT_EQ(unblock["sender"], "eve@example.org");
  EXPECT_EQ(unblock["blocked"], false);
  EXPECT_EQ(postctl({"--admin", admin_address, "block", "--user", "alice@example.org"}).exit_code,
            2);
}

TEST_F(Postctl, OptionsMayFollowTheCommand) {
  Outcome r = postctl({"status", "--json", "--admin", admin_address});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Json::parse(r.out)["state"], "ready");
}

TEST_F(Postctl, ANodesErrorExitsWithOne) {
  Outcome r = postctl({"--admin", admin_address, "lookup", kFailingKey});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(
      r.err, HasSubstr("postctl: postd at " + admin_address +
                       " could not answer lookup: lookup of " + kFailingKey + " failed: no route"));
  EXPECT_THAT(r.out, IsEmpty());

  Outcome j = postctl({"--admin", admin_address, "--json", "lookup", kFailingKey});
  EXPECT_EQ(j.exit_code, 1);
  EXPECT_THAT(Json::parse(j.out)["error"].get<std::string>(), HasSubstr("no route"));
}

TEST_F(Postctl, UsageErrorsExitWithTwo) {
  Outcome no_command = postctl({"--admin", admin_address});
  EXPECT_EQ(no_command.exit_code, 2);
  Outcome bad_key = postctl({"--admin", admin_address, "lookup", "abc"});
  EXPECT_EQ(bad_key.exit_code, 2);
  EXPECT_EQ(bad_key.err, "postctl: 'abc' is not a key: expected 64 hex characters, got 3\n");
  Outcome not_hex = postctl({"--admin", admin_address, "lookup", std::string(63, '0') + "g"});
  EXPECT_EQ(not_hex.exit_code, 2);
  EXPECT_THAT(not_hex.err, HasSubstr("not a hex digit"));
  Outcome no_key = postctl({"--admin", admin_address, "lookup"});
  EXPECT_EQ(no_key.exit_code, 2);
  Outcome both = postctl({"--admin", admin_address, "--config", "x.yaml", "status"});
  EXPECT_EQ(both.exit_code, 2);
  Outcome bad_address = postctl({"--admin", "localhost", "status"});
  EXPECT_EQ(bad_address.exit_code, 2);
  EXPECT_THAT(bad_address.err, HasSubstr("admin address 'localhost': expected host:port"));
  Outcome unknown = postctl({"reboot"});
  EXPECT_EQ(unknown.exit_code, 2);
}

TEST_F(Postctl, HelpDescribesEveryCommand) {
  Outcome r = postctl({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* c : {"status", "leafset", "routes", "peers", "lookup", "put", "get", "users",
                        "notify", "notifications", "block", "unblock", "--json", "--timeout",
                        "--admin", "--config", "Exit codes"}) {
    EXPECT_THAT(r.out, HasSubstr(c));
  }
  Outcome lookup = postctl({"lookup", "--help"});
  EXPECT_EQ(lookup.exit_code, 0);
  EXPECT_THAT(lookup.out, HasSubstr("KEY"));
  Outcome notify = postctl({"notify", "--help"});
  EXPECT_EQ(notify.exit_code, 0);
  for (const char* o : {"--from", "--to", "--app", "--data", "--data-file"}) {
    EXPECT_THAT(notify.out, HasSubstr(o));
  }
}

TEST_F(Postctl, AnUnreachableEndpointExitsWithThreeAndSaysWhy) {
  std::string closed = "127.0.0.1:" + std::to_string(testing::free_port());
  Outcome r = postctl({"--admin", closed, "status"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.err, "postctl: cannot reach postd's admin endpoint at " + closed +
                       ": Connection refused (is postd running with `admin:` set?)\n");
  Outcome j = postctl({"--admin", closed, "--json", "peers"});
  EXPECT_EQ(j.exit_code, 3);
  EXPECT_THAT(Json::parse(j.out)["error"].get<std::string>(), HasSubstr("Connection refused"));
}

TEST_F(Postctl, ANodeThatDoesNotAnswerTimesOut) {
  auto start = std::chrono::steady_clock::now();
  Outcome r = postctl({"--admin", admin_address, "--timeout", "0.5", "lookup", kSilentKey});
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr("postd's admin endpoint at " + admin_address +
                               " did not answer within 0.5 s"));
  EXPECT_LT(took, 5s);
}

TEST_F(Postctl, TakesTheAdminAddressFromTheNodeConfiguration) {
  std::string base =
      "identity: {key: node.key, certificate: node.cert, ca_certificate: ca.cert}\n"
      "listen: \"127.0.0.1:4000\"\n"
      "data_dir: data\n";
  ASSERT_TRUE(
      write_file(dir.file("with_admin.yaml"), base + "admin: \"" + admin_address + "\"\n", false)
          .ok());
  std::string wildcard = "0.0.0.0:" + std::to_string(server->address().port);
  ASSERT_TRUE(
      write_file(dir.file("wildcard.yaml"), base + "admin: \"" + wildcard + "\"\n", false).ok());
  ASSERT_TRUE(write_file(dir.file("no_admin.yaml"), base, false).ok());

  Outcome r = postctl({"--config", dir.file("with_admin.yaml"), "--json", "status"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Json::parse(r.out)["node_id"], kSelf.to_hex());

  // A node configuration with a non-loopback admin address is refused, by postd and postctl.
  Outcome w = postctl({"--config", dir.file("wildcard.yaml"), "status"});
  EXPECT_EQ(w.exit_code, 2);
  EXPECT_THAT(w.err, HasSubstr("wildcard.yaml:4:8: admin: must be a loopback address"));

  Outcome none = postctl({"--config", dir.file("no_admin.yaml"), "status"});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_THAT(none.err, HasSubstr(dir.file("no_admin.yaml") + " has no `admin:` address"));

  Outcome missing = postctl({"--config", dir.file("missing.yaml"), "status"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, HasSubstr("missing.yaml"));
}

}  // namespace
}  // namespace post::daemon
