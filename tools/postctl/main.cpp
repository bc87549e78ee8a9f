// postctl: asks a running postd about its node over the node's admin endpoint.
//
//   postctl [--admin HOST:PORT | --config node.yaml] [--json] [--timeout SECONDS] COMMAND
//
//   status        the node: id, address, ring, state, uptime, table sizes, counters
//   leafset       the leaf set, in ring order around the node
//   routes        the routing table's filled slots
//   peers         the transport's open links with their RTTs
//   lookup KEY    which node is responsible for KEY, and the hops to it
//   put FILE      store FILE ('-': stdin) as a content-hash block; prints its handle
//   get HANDLE    fetch a block; its payload goes to stdout (or --output FILE)
//   subscribe GROUP / unsubscribe GROUP / publish GROUP MESSAGE / received GROUP /
//   anycast GROUP MESSAGE / groups      Scribe groups (GROUP: a name, or an id with --id)
//   users         the users this node serves
//   notify --from EMAIL --to EMAIL [--app NAME] [--data TEXT | --data-file FILE]
//                 send a POST notification from a user this node serves
//   notifications --user EMAIL [--after N]     what a user this node serves received
//   block / unblock --user EMAIL --sender EMAIL  refuse (accept again) a sender's notifications
//   plugins       the plugins node.yaml configures: state, version, load time, errors
//   reload NAME / enable NAME / disable NAME     reload a plugin live, load or unload it
//   command NAME ARGS...   hand ARGS to plugin NAME's admin command handler; print its answer
//
// docs/POSTCTL.md describes the output, the JSON keys and the exit codes.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <nlohmann/json.hpp>

#include "host/core/bytes.h"
#include "host/core/crypto.h"
#include "host/core/errors.h"
#include "host/core/frame.h"
#include "host/core/id.h"
#include "host/daemon/node_config.h"
#include "host/daemon/proto/admin.pb.h"
#include "host/net/errors.h"
#include "host/past/block.h"
#include "host/post/notification.h"
#include "host/scribe/scribe_config.h"
#include "post/sdk.h"

namespace {

namespace asio = boost::asio;
namespace admin = post::proto::admin;
using asio::ip::tcp;
using Json = nlohmann::ordered_json;
using post::Error;
using post::Result;
using post::net::NetErrc;

// The admin address postd's example configuration uses (config/node.example.yaml).
constexpr const char* kDefaultAdmin = "127.0.0.1:4100";
constexpr double kDefaultTimeoutSeconds = 5;
constexpr double kDefaultStorageTimeoutSeconds = 60;
constexpr int kExitOk = 0;
constexpr int kExitNodeError = 1;  // the node answered with an Error
constexpr int kExitUsage = 2;      // bad arguments or configuration
constexpr int kExitNoAnswer = 3;   // cannot connect, timeout, or an answer that is not one

// ---------------------------------------------------------------------------------------
// Where the admin endpoint is
// ---------------------------------------------------------------------------------------

struct Target {
  std::string host;
  std::string port;
  std::string text;  // as the user will recognise it, "host:port"
};

// Parses "host:port" or "[v6]:port".
Result<Target> parse_target(const std::string& text) {
  auto bad = [&](const std::string& why) {
    return post::make_error(NetErrc::kBadAddress, "admin address '" + text + "': " + why);
  };
  Target t;
  t.text = text;
  std::string port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return bad("expected [ipv6]:port");
    }
    t.host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos) return bad("expected host:port");
    t.host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (t.host.find(':') != std::string::npos) {
      return bad("write an IPv6 address in brackets, as [addr]:port");
    }
  }
  if (t.host.empty()) return bad("the host is missing");
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      std::stoi(port) < 1 || std::stoi(port) > 65535) {
    return bad("the port must be a number from 1 to 65535");
  }
  t.port = port;
  return t;
}

// The admin address in the node configuration at `path` (always a loopback address: the
// configuration is refused otherwise).
Result<Target> target_from_config(const std::string& path) {
  auto config = post::daemon::load_node_config(path);
  if (!config.ok()) return std::move(config).error();
  if (!config->admin) {
    return post::make_error(post::CoreErrc::kConfigMissingKey,
                            path +
                                " has no `admin:` address, so that postd opens no admin "
                                "endpoint; add one (e.g. admin: \"" +
                                std::string(kDefaultAdmin) + "\") and restart postd");
  }
  return parse_target(config->admin->to_string());
}

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", s);
  return buf;
}

// ---------------------------------------------------------------------------------------
// AdminClient: one request, one answer, within a deadline.
// ---------------------------------------------------------------------------------------
class AdminClient {
 public:
  AdminClient(Target target, double timeout_seconds)
      : target_(std::move(target)),
        timeout_seconds_(timeout_seconds),
        deadline_(std::chrono::steady_clock::now() +
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                      std::chrono::duration<double>(timeout_seconds))) {}

  // Connects, sends `request` and waits for its answer, all before the deadline. Errors:
  // NetErrc::kUnreachable (cannot connect), kTimeout, kClosed (closed before answering),
  // kProtocolViolation (the answer does not decode).
  Result<admin::AdminResponse> call(const admin::AdminRequest& request) {
    auto endpoints = resolve();
    if (!endpoints.ok()) return std::move(endpoints).error();
    if (auto s = connect(*endpoints); !s.ok()) return std::move(s).error();

    post::Bytes frame = post::wire::encode_frame(post::wire::encode_message(request));
    boost::system::error_code ec;
    bool done = false;
    asio::async_write(socket_, asio::buffer(frame),
                      [&](const boost::system::error_code& e, std::size_t) {
                        ec = e;
                        done = true;
                      });
    if (!run(done)) return no_answer();
    if (ec) return closed("sending the request failed: " + ec.message());

    post::wire::FrameDecoder decoder(post::wire::kMaxFrameBytes);
    std::vector<std::uint8_t> buffer(64 * 1024);
    for (;;) {
      auto next = decoder.next();
      if (!next.ok()) return bad_answer(next.error().to_string());
      if (next->has_value()) {
        auto response = post::wire::decode_message<admin::AdminResponse>(**next, "admin answer");
        if (!response.ok()) return bad_answer(response.error().message);
        if (response->request_id() != request.request_id()) {
          return bad_answer("it answers request " + std::to_string(response->request_id()) +
                            ", not " + std::to_string(request.request_id()));
        }
        return response;
      }
      std::size_t n = 0;
      done = false;
      socket_.async_read_some(asio::buffer(buffer),
                              [&](const boost::system::error_code& e, std::size_t got) {
                                ec = e;
                                n = got;
                                done = true;
                              });
      if (!run(done)) return no_answer();
      if (ec == asio::error::eof) return closed("it closed the connection before answering");
      if (ec) return closed("reading the answer failed: " + ec.message());
      decoder.feed(post::ByteView(buffer.data(), n));
    }
  }

 private:
  // Runs the io_context until `done` or the deadline; false at the deadline.
  bool run(const bool& done) {
    io_.restart();
    while (!done) {
      if (io_.run_one_until(deadline_) == 0 && !done) {
        if (std::chrono::steady_clock::now() >= deadline_ || io_.stopped()) break;
      }
    }
    return done;
  }

  Result<tcp::resolver::results_type> resolve() {
    tcp::resolver resolver(io_);
    boost::system::error_code ec;
    tcp::resolver::results_type results;
    bool done = false;
    resolver.async_resolve(target_.host, target_.port, tcp::resolver::numeric_service,
                           [&](const boost::system::error_code& e, tcp::resolver::results_type r) {
                             ec = e;
                             results = std::move(r);
                             done = true;
                           });
    if (!run(done)) {
      resolver.cancel();
      return unreachable("cannot resolve '" + target_.host + "' within " +
                         seconds_text(timeout_seconds_) + " s");
    }
    if (ec) return unreachable("cannot resolve '" + target_.host + "': " + ec.message());
    return results;
  }

  post::Status connect(const tcp::resolver::results_type& endpoints) {
    boost::system::error_code ec;
    bool done = false;
    asio::async_connect(socket_, endpoints,
                        [&](const boost::system::error_code& e, const tcp::endpoint&) {
                          ec = e;
                          done = true;
                        });
    if (!run(done)) {
      return unreachable("no connection within " + seconds_text(timeout_seconds_) + " s");
    }
    if (ec) return unreachable(ec.message());
    boost::system::error_code ignored;
    socket_.set_option(tcp::no_delay(true), ignored);
    return post::ok_status();
  }

  Error unreachable(const std::string& why) const {
    return post::make_error(NetErrc::kUnreachable, "cannot reach postd's admin endpoint at " +
                                                       target_.text + ": " + why +
                                                       " (is postd running with `admin:` set?)");
  }
  Error no_answer() const {
    return post::make_error(NetErrc::kTimeout, "postd's admin endpoint at " + target_.text +
                                                   " did not answer within " +
                                                   seconds_text(timeout_seconds_) + " s");
  }
  Error closed(const std::string& why) const {
    return post::make_error(
        NetErrc::kClosed, "no answer from postd's admin endpoint at " + target_.text + ": " + why);
  }
  Error bad_answer(const std::string& why) const {
    return post::make_error(
        NetErrc::kProtocolViolation,
        "postd's admin endpoint at " + target_.text + " sent an unreadable answer: " + why);
  }

  Target target_;
  double timeout_seconds_;
  std::chrono::steady_clock::time_point deadline_;
  asio::io_context io_;
  tcp::socket socket_{io_};
};

// ---------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------

std::string id_hex(const std::string& id_bytes) {
  return post::to_hex(post::as_bytes(id_bytes));
}

std::string short_id(const std::string& id_bytes) {
  return id_hex(id_bytes).substr(0, 8);
}

double to_ms(std::uint64_t ns) {
  return static_cast<double>(ns) / 1e6;
}

std::string ms_text(std::uint64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f ms", to_ms(ns));
  return buf;
}

template <class Message>
std::string rtt_text(const Message& m) {
  return m.has_rtt_ns() ? ms_text(m.rtt_ns()) : "?";
}

template <class Message>
Json rtt_json(const Message& m) {
  return m.has_rtt_ns() ? Json(to_ms(m.rtt_ns())) : Json(nullptr);
}

std::string uptime_text(std::uint64_t ms) {
  std::uint64_t s = ms / 1000;
  char buf[64];
  if (s >= 86400) {
    std::snprintf(
        buf, sizeof buf, "%llud %02lluh %02llum %02llus",
        static_cast<unsigned long long>(s / 86400), static_cast<unsigned long long>(s / 3600 % 24),
        static_cast<unsigned long long>(s / 60 % 60), static_cast<unsigned long long>(s % 60));
  } else if (s >= 3600) {
    std::snprintf(
        buf, sizeof buf, "%lluh %02llum %02llus", static_cast<unsigned long long>(s / 3600),
        static_cast<unsigned long long>(s / 60 % 60), static_cast<unsigned long long>(s % 60));
  } else if (s >= 60) {
    std::snprintf(buf, sizeof buf, "%llum %02llus", static_cast<unsigned long long>(s / 60),
                  static_cast<unsigned long long>(s % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%llus", static_cast<unsigned long long>(s));
  }
  return buf;
}

std::string state_name(admin::JoinState s) {
  switch (s) {
    case admin::JOIN_STATE_IDLE: return "idle";
    case admin::JOIN_STATE_JOINING: return "joining";
    case admin::JOIN_STATE_READY: return "ready";
    case admin::JOIN_STATE_LEFT: return "left";
    default: return "unknown";
  }
}

// One JSON object on stdout. Text that is not UTF-8 is replaced rather than refused.
void print_json(const Json& j) {
  std::cout << j.dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
}

Json node_json(const admin::Node& n) {
  return Json{{"node_id", id_hex(n.id())}, {"address", n.address()}};
}

// Columns of text, each as wide as its widest cell; `right` columns (numbers) align right.
class Table {
 public:
  Table(std::vector<std::string> headers, std::vector<bool> right)
      : headers_(std::move(headers)), right_(std::move(right)) {
    right_.resize(headers_.size(), false);
  }
  void add(std::vector<std::string> cells) {
    cells.resize(headers_.size());
    rows_.push_back(std::move(cells));
  }
  void print(std::ostream& out) const {
    std::vector<std::size_t> width(headers_.size());
    for (std::size_t c = 0; c < headers_.size(); ++c) width[c] = headers_[c].size();
    for (const auto& row : rows_) {
      for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
    }
    auto line = [&](const std::vector<std::string>& cells) {
      std::string text;
      for (std::size_t c = 0; c < cells.size(); ++c) {
        std::string pad(width[c] - cells[c].size(), ' ');
        if (c > 0) text += "  ";
        text += right_[c] ? pad + cells[c] : cells[c] + pad;
      }
      while (!text.empty() && text.back() == ' ') text.pop_back();
      out << text << "\n";
    };
    line(headers_);
    for (const auto& row : rows_) line(row);
  }

 private:
  std::vector<std::string> headers_;
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;
};

// "key   value" lines, values aligned at least `width` characters after the indent.
void print_fields(std::ostream& out, const std::vector<std::pair<std::string, std::string>>& fields,
                  const std::string& indent = "", std::size_t width = 0) {
  for (const auto& [k, v] : fields) width = std::max(width, k.size());
  for (const auto& [k, v] : fields) {
    out << indent << k << std::string(width - k.size() + 2, ' ') << v << "\n";
  }
}

std::string n(std::uint64_t v) {
  return std::to_string(v);
}

Json notification_counters_json(const admin::NotificationCounters& o) {
  return Json{{"users", o.users()},
              {"held_now", o.held_now()},
              {"sent_direct", o.sent_direct()},
              {"sent_delegated", o.sent_delegated()},
              {"send_failures", o.send_failures()},
              {"held", o.held()},
              {"delivered_by_delegate", o.delivered_by_delegate()},
              {"expired", o.expired()},
              {"received", o.received()},
              {"duplicates", o.duplicates()},
              {"refused", o.refused()},
              {"messages_refused", o.messages_refused()},
              {"presence_announcements", o.presence_announcements()}};
}

void print_status(const admin::StatusReply& s, bool json) {
  const auto& p = s.pastry();
  const auto& t = s.transport();
  const auto& b = s.past();
  const auto& c = s.scribe();
  constexpr std::size_t kCounterWidth = 20;  // both counter blocks line up
  if (json) {
    Json j{
        {"node_id", id_hex(s.self().id())},
        {"address", s.self().address()},
        {"ring", s.ring()},
        {"state", state_name(s.state())},
        {"uptime_ms", s.uptime_ms()},
        {"version", s.version()},
        {"leaf_set",
         {{"size", s.leaf_set_size()},
          {"capacity", s.leaf_set_capacity()},
          {"complete", s.leaf_set_complete()}}},
        {"routing_table",
         {{"entries", s.routing_entries()},
          {"rows", s.routing_rows()},
          {"max_rows", s.routing_max_rows()},
          {"digit_bits", s.digit_bits()}}},
        {"links", s.links()},
        {"failed_nodes", s.failed_nodes()},
        {"pastry",
         {{"routed_originated", p.routed_originated()},
          {"forwarded", p.forwarded()},
          {"delivered", p.delivered()},
          {"rerouted", p.rerouted()},
          {"dropped", p.dropped()},
          {"failures_detected", p.failures_detected()},
          {"joins_answered", p.joins_answered()},
          {"messages_refused", p.messages_refused()}}},
        {"transport",
         {{"links_accepted", t.links_accepted()},
          {"links_dialled", t.links_dialled()},
          {"handshakes_failed", t.handshakes_failed()},
          {"frames_refused", t.frames_refused()},
          {"links_refused_full", t.links_refused_full()},
          {"messages_delivered", t.messages_delivered()},
          {"messages_dropped_no_handler", t.messages_dropped_no_handler()}}},
        {"past",
         {{"blocks", b.blocks()},
          {"bytes_used", b.bytes_used()},
          {"quota_bytes", b.quota_bytes()},
          {"cache_bytes", b.cache_bytes()},
          {"replicas", b.replicas()},
          {"inserts", b.inserts()},
          {"insert_failures", b.insert_failures()},
          {"lookups", b.lookups()},
          {"lookup_failures", b.lookup_failures()},
          {"replicas_stored", b.replicas_stored()},
          {"stores_refused", b.stores_refused()},
          {"served_from_cache", b.served_from_cache()},
          {"bad_copies", b.bad_copies()},
          {"stale_repaired", b.stale_repaired()},
          {"maintenance_messages", b.maintenance_messages()},
          {"maintenance_bytes", b.maintenance_bytes()},
          {"maintenance_fetched", b.maintenance_fetched()},
          {"handed_off", b.handed_off()},
          {"dropped", b.dropped()},
          {"messages_refused", b.messages_refused()}}},
        {"scribe",
         {{"groups", c.groups()},
          {"memberships", c.memberships()},
          {"delivered", c.delivered()},
          {"duplicates", c.duplicates()},
          {"forwarded", c.forwarded()},
          {"resubscribed", c.resubscribed()},
          {"anycast_steps", c.anycast_steps()},
          {"redirected", c.redirected()},
          {"messages_refused", c.messages_refused()}}},
        {"notifications",
         s.has_notifications() ? notification_counters_json(s.notifications()) : Json(nullptr)},
    };
    print_json(j);
    return;
  }
  print_fields(
      std::cout,
      {
          {"node id", id_hex(s.self().id())},
          {"address", s.self().address()},
          {"ring", s.ring().empty() ? "global" : s.ring()},
          {"state", state_name(s.state())},
          {"uptime", uptime_text(s.uptime_ms())},
          {"version", s.version()},
          {"leaf set", n(s.leaf_set_size()) + " of " + n(s.leaf_set_capacity()) +
                           (s.leaf_set_complete() ? " (complete)" : " (incomplete)")},
          {"routing table", n(s.routing_entries()) + " entries in " + n(s.routing_rows()) + " of " +
                                n(s.routing_max_rows()) + " rows (b = " + n(s.digit_bits()) + ")"},
          {"links", n(s.links())},
          {"failed nodes", n(s.failed_nodes())},
      });
  std::cout << "pastry\n";
  print_fields(std::cout,
               {{"routed (originated)", n(p.routed_originated())},
                {"forwarded", n(p.forwarded())},
                {"delivered", n(p.delivered())},
                {"rerouted", n(p.rerouted())},
                {"dropped", n(p.dropped())},
                {"failures detected", n(p.failures_detected())},
                {"joins answered", n(p.joins_answered())},
                {"messages refused", n(p.messages_refused())}},
               "  ", kCounterWidth);
  std::cout << "transport\n";
  print_fields(std::cout,
               {{"links accepted", n(t.links_accepted())},
                {"links dialled", n(t.links_dialled())},
                {"handshakes failed", n(t.handshakes_failed())},
                {"frames refused", n(t.frames_refused())},
                {"links refused (full)", n(t.links_refused_full())},
                {"messages delivered", n(t.messages_delivered())},
                {"dropped (no handler)", n(t.messages_dropped_no_handler())}},
               "  ", kCounterWidth);
  std::cout << "past\n";
  print_fields(std::cout,
               {{"blocks", n(b.blocks()) + " (" + n(b.bytes_used()) + " of " + n(b.quota_bytes()) +
                               " bytes)"},
                {"replicas (k)", n(b.replicas())},
                {"cache", n(b.cache_bytes()) + " bytes"},
                {"inserts", n(b.inserts()) + " (" + n(b.insert_failures()) + " failed)"},
                {"lookups", n(b.lookups()) + " (" + n(b.lookup_failures()) + " failed)"},
                {"replicas stored", n(b.replicas_stored())},
                {"stores refused", n(b.stores_refused())},
                {"served from cache", n(b.served_from_cache())},
                {"bad copies seen", n(b.bad_copies())},
                {"stale repaired", n(b.stale_repaired())},
                {"maintenance",
                 n(b.maintenance_messages()) + " messages, " + n(b.maintenance_bytes()) + " bytes"},
                {"fetched / handed off", n(b.maintenance_fetched()) + " / " + n(b.handed_off())},
                {"dropped (moved)", n(b.dropped())},
                {"messages refused", n(b.messages_refused())}},
               "  ", kCounterWidth);
  std::cout << "scribe\n";
  print_fields(std::cout,
               {{"groups", n(c.groups()) + " (member of " + n(c.memberships()) + ")"},
                {"delivered", n(c.delivered())},
                {"duplicates dropped", n(c.duplicates())},
                {"forwarded", n(c.forwarded())},
                {"resubscribed", n(c.resubscribed())},
                {"anycast steps", n(c.anycast_steps())},
                {"children pushed down", n(c.redirected())},
                {"messages refused", n(c.messages_refused())}},
               "  ", kCounterWidth);
  if (!s.has_notifications()) return;
  const auto& o = s.notifications();
  std::cout << "notifications\n";
  print_fields(std::cout,
               {{"users served", n(o.users())},
                {"sent", n(o.sent_direct()) + " direct, " + n(o.sent_delegated()) + " delegated (" +
                             n(o.send_failures()) + " failed)"},
                {"received", n(o.received())},
                {"duplicates dropped", n(o.duplicates())},
                {"refused", n(o.refused())},
                {"held for others", n(o.held_now()) + " now (" + n(o.held()) + " taken, " +
                                        n(o.delivered_by_delegate()) + " delivered, " +
                                        n(o.expired()) + " expired)"},
                {"presence announced", n(o.presence_announcements())},
                {"messages refused", n(o.messages_refused())}},
               "  ", kCounterWidth);
}

std::string side_name(admin::Side s) {
  switch (s) {
    case admin::SIDE_COUNTER_CLOCKWISE: return "ccw";
    case admin::SIDE_CLOCKWISE: return "cw";
    default: return "?";
  }
}

void print_leaf_set(const admin::LeafSetReply& l, bool json) {
  if (json) {
    Json members = Json::array();
    for (const auto& m : l.members()) {
      members.push_back(Json{{"side", side_name(m.side())},
                             {"position", m.position()},
                             {"node_id", id_hex(m.node().id())},
                             {"address", m.node().address()},
                             {"rtt_ms", rtt_json(m)}});
    }
    Json j{{"node_id", id_hex(l.self().id())},
           {"address", l.self().address()},
           {"size", l.size()},
           {"capacity", l.capacity()},
           {"complete", l.complete()},
           {"members", std::move(members)}};
    print_json(j);
    return;
  }
  std::cout << "leaf set of " << short_id(l.self().id()) << " (" << l.self().address()
            << "): " << l.size() << " of " << l.capacity() << " members, "
            << (l.complete() ? "complete" : "incomplete") << "\n\n";
  Table table({"SIDE", "POS", "ID", "ADDRESS", "RTT"}, {false, true, false, false, true});
  bool self_shown = false;
  for (const auto& m : l.members()) {
    if (!self_shown && m.side() == admin::SIDE_CLOCKWISE) {
      table.add({"self", "", short_id(l.self().id()), l.self().address(), ""});
      self_shown = true;
    }
    table.add({side_name(m.side()), n(m.position()), short_id(m.node().id()), m.node().address(),
               rtt_text(m)});
  }
  if (!self_shown) table.add({"self", "", short_id(l.self().id()), l.self().address(), ""});
  table.print(std::cout);
}

void print_routes(const admin::RoutesReply& r, bool json) {
  if (json) {
    Json entries = Json::array();
    for (const auto& e : r.entries()) {
      entries.push_back(Json{{"row", e.row()},
                             {"column", e.column()},
                             {"node_id", id_hex(e.node().id())},
                             {"address", e.node().address()},
                             {"rtt_ms", rtt_json(e)}});
    }
    Json j{{"node_id", id_hex(r.self().id())}, {"address", r.self().address()},
           {"digit_bits", r.digit_bits()},     {"rows", r.rows()},
           {"max_rows", r.max_rows()},         {"size", r.entries_size()},
           {"entries", std::move(entries)}};
    print_json(j);
    return;
  }
  std::cout << "routing table of " << short_id(r.self().id()) << " (" << r.self().address()
            << "): " << r.entries_size() << " entries in " << r.rows() << " of " << r.max_rows()
            << " rows, b = " << r.digit_bits() << "\n";
  if (r.entries().empty()) return;
  std::cout << "\n";
  Table table({"ROW", "COL", "ID", "ADDRESS", "RTT"}, {true, true, false, false, true});
  for (const auto& e : r.entries()) {
    char column[8];
    std::snprintf(column, sizeof column, "%x", e.column());
    table.add({n(e.row()), column, short_id(e.node().id()), e.node().address(), rtt_text(e)});
  }
  table.print(std::cout);
}

void print_peers(const admin::PeersReply& p, bool json) {
  if (json) {
    Json links = Json::array();
    for (const auto& l : p.links()) {
      links.push_back(Json{{"node_id", id_hex(l.peer().id())},
                           {"address", l.peer().address()},
                           {"direction", l.outgoing() ? "out" : "in"},
                           {"rtt_ms", rtt_json(l)},
                           {"queued_bytes", l.queued_bytes()},
                           {"frames_in", l.frames_in()},
                           {"frames_out", l.frames_out()}});
    }
    Json j{{"node_id", id_hex(p.self().id())},
           {"address", p.self().address()},
           {"size", p.links_size()},
           {"links", std::move(links)}};
    print_json(j);
    return;
  }
  std::cout << p.links_size() << " link(s) of " << short_id(p.self().id()) << " ("
            << p.self().address() << ")\n";
  if (p.links().empty()) return;
  std::cout << "\n";
  Table table({"DIR", "ID", "ADDRESS", "RTT", "QUEUED", "FRAMES IN", "FRAMES OUT"},
              {false, false, false, true, true, true, true});
  for (const auto& l : p.links()) {
    table.add({l.outgoing() ? "out" : "in", short_id(l.peer().id()), l.peer().address(),
               rtt_text(l), n(l.queued_bytes()), n(l.frames_in()), n(l.frames_out())});
  }
  table.print(std::cout);
}

void print_lookup(const admin::LookupReply& l, bool json) {
  if (json) {
    Json path = Json::array();
    for (const auto& hop : l.path()) path.push_back(node_json(hop));
    Json j{{"key", id_hex(l.key())},
           {"root", node_json(l.root())},
           {"hops", l.hops()},
           {"latency_ms", to_ms(l.latency_ns())},
           {"path", std::move(path)}};
    print_json(j);
    return;
  }
  print_fields(std::cout, {{"key", id_hex(l.key())},
                           {"root", id_hex(l.root().id())},
                           {"root address", l.root().address()},
                           {"hops", n(l.hops())},
                           {"latency", ms_text(l.latency_ns())}});
  if (l.path().empty()) return;
  std::cout << "\n";
  Table table({"HOP", "ID", "ADDRESS"}, {true, false, false});
  for (int i = 0; i < l.path_size(); ++i) {
    table.add({n(static_cast<std::uint64_t>(i)), short_id(l.path(i).id()), l.path(i).address()});
  }
  table.print(std::cout);
}

void print_put(const admin::PutReply& p, bool json) {
  if (json) {
    Json stored = Json::array(), failed = Json::array();
    for (const auto& node : p.stored_on()) stored.push_back(node_json(node));
    for (const auto& node : p.failed()) failed.push_back(node_json(node));
    print_json(Json{{"handle", id_hex(p.handle())},
                    {"stored_on", std::move(stored)},
                    {"failed", std::move(failed)}});
    return;
  }
  // The handle alone on stdout, so `h=$(postctl put FILE)` works; the replicas on stderr.
  std::cout << id_hex(p.handle()) << "\n";
  std::cerr << "stored on " << p.stored_on_size() << " replicas:";
  for (const auto& node : p.stored_on()) std::cerr << " " << short_id(node.id());
  if (p.failed_size() > 0) {
    std::cerr << " (did not answer:";
    for (const auto& node : p.failed()) std::cerr << " " << short_id(node.id());
    std::cerr << ")";
  }
  std::cerr << "\n";
}

// Writes the payload to `output` (stdout when empty or "-"); false when that fails.
bool print_get(const admin::GetReply& g, bool json, const std::string& output) {
  if (json) {
    print_json(Json{{"handle", id_hex(g.handle())},
                    {"kind", g.kind()},
                    {"size", g.payload().size()},
                    {"timestamp", g.timestamp()},
                    {"latency_ms", to_ms(g.latency_ns())},
                    {"payload_base64", post::crypto::base64_encode(post::as_bytes(g.payload()))}});
    return true;
  }
  if (output.empty() || output == "-") {
    std::cout.write(g.payload().data(), static_cast<std::streamsize>(g.payload().size()));
    return static_cast<bool>(std::cout);
  }
  std::ofstream out(output, std::ios::binary | std::ios::trunc);
  out.write(g.payload().data(), static_cast<std::streamsize>(g.payload().size()));
  return static_cast<bool>(out);
}

// Payloads as text when they are printable, else as base64 (marked so).
std::string payload_text(const std::string& payload) {
  bool printable = std::all_of(payload.begin(), payload.end(), [](char ch) {
    auto u = static_cast<unsigned char>(ch);
    return u >= 0x20 && u != 0x7f;
  });
  if (printable) return payload;
  return "base64:" + post::crypto::base64_encode(post::as_bytes(payload));
}

Json optional_node_json(bool has, const admin::Node& node) {
  return has ? node_json(node) : Json(nullptr);
}

void print_subscribe(const admin::SubscribeReply& r, bool json) {
  if (json) {
    print_json(Json{{"group", id_hex(r.group())},
                    {"root", r.root()},
                    {"parent", optional_node_json(r.has_parent(), r.parent())}});
    return;
  }
  std::cout << "subscribed to " << id_hex(r.group());
  if (r.root()) {
    std::cout << " (this node is the group's root)\n";
  } else if (r.has_parent()) {
    std::cout << " (parent " << short_id(r.parent().id()) << " at " << r.parent().address()
              << ")\n";
  } else {
    std::cout << "\n";
  }
}

void print_group_only(const std::string& verb, const std::string& group, bool json) {
  if (json) {
    print_json(Json{{"group", id_hex(group)}});
    return;
  }
  std::cout << verb << " " << id_hex(group) << "\n";
}

void print_received(const admin::ReceivedReply& r, bool json) {
  if (json) {
    Json messages = Json::array();
    for (const auto& m : r.messages()) {
      messages.push_back(
          Json{{"index", m.index()},
               {"received_unix_ms", m.received_unix_ms()},
               {"anycast", m.anycast()},
               {"size", m.payload().size()},
               {"payload_base64", post::crypto::base64_encode(post::as_bytes(m.payload()))}});
    }
    print_json(Json{{"group", id_hex(r.group())},
                    {"last_index", r.last_index()},
                    {"discarded", r.discarded()},
                    {"messages", std::move(messages)}});
    return;
  }
  for (const auto& m : r.messages()) {
    std::cout << m.index() << (m.anycast() ? " anycast " : " ") << payload_text(m.payload())
              << "\n";
  }
  std::cerr << r.messages_size() << " message(s); last index " << r.last_index();
  if (r.discarded() > 0) std::cerr << "; " << r.discarded() << " older ones discarded";
  std::cerr << "\n";
}

void print_anycast(const admin::AnycastReply& r, bool json) {
  if (json) {
    print_json(Json{{"group", id_hex(r.group())}, {"member", node_json(r.member())}});
    return;
  }
  std::cout << "accepted by " << id_hex(r.member().id()) << " at " << r.member().address() << "\n";
}

void print_groups(const admin::GroupsReply& r, bool json) {
  if (json) {
    Json groups = Json::array();
    for (const auto& g : r.groups()) {
      Json children = Json::array();
      for (const auto& c : g.children()) children.push_back(node_json(c));
      groups.push_back(Json{{"group", id_hex(g.group())},
                            {"name", g.name()},
                            {"member", g.member()},
                            {"root", g.root()},
                            {"parent", optional_node_json(g.has_parent(), g.parent())},
                            {"children", std::move(children)}});
    }
    print_json(Json{{"node_id", id_hex(r.self().id())},
                    {"address", r.self().address()},
                    {"groups", std::move(groups)}});
    return;
  }
  std::cout << r.groups_size() << " group(s) at " << short_id(r.self().id()) << " ("
            << r.self().address() << ")\n";
  if (r.groups().empty()) return;
  std::cout << "\n";
  Table table({"GROUP", "NAME", "ROLE", "PARENT", "CHILDREN"}, {false, false, false, false, true});
  for (const auto& g : r.groups()) {
    std::string role = g.root() ? "root" : g.has_parent() ? "" : "joining";
    if (g.member()) role += role.empty() ? "member" : "+member";
    if (role.empty()) role = "forwarder";
    table.add({short_id(g.group()), g.name(), role,
               g.has_parent() ? short_id(g.parent().id()) : "-", n(g.children_size())});
  }
  table.print(std::cout);
}

// "2026-11-26 01:45:50" (UTC) for unix milliseconds; "-" for 0 (unknown).
std::string utc_text(std::uint64_t unix_ms) {
  if (unix_ms == 0) return "-";
  std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

void print_users(const admin::UsersReply& r, bool json) {
  if (json) {
    Json users = Json::array();
    for (const auto& u : r.users()) {
      users.push_back(Json{{"email", u.email()},
                           {"name", u.name()},
                           {"puzzle_bits", u.puzzle_bits()},
                           {"received", u.received()},
                           {"published", u.published()},
                           {"signing_key", id_hex(u.signing_key())}});
    }
    print_json(Json{{"node_id", id_hex(r.self().id())},
                    {"address", r.self().address()},
                    {"users", std::move(users)}});
    return;
  }
  std::cout << r.users_size() << " user(s) served by " << short_id(r.self().id()) << " ("
            << r.self().address() << ")\n";
  if (r.users().empty()) return;
  std::cout << "\n";
  Table table({"EMAIL", "NAME", "PUZZLE", "RECEIVED", "PUBLISHED"},
              {false, false, true, true, false});
  for (const auto& u : r.users()) {
    table.add({u.email(), u.name(), n(u.puzzle_bits()), n(u.received()),
               u.published() ? "yes" : "not yet"});
  }
  table.print(std::cout);
}

void print_notify(const admin::NotifyReply& r, bool json) {
  if (json) {
    Json nodes = Json::array();
    for (const auto& node : r.nodes()) nodes.push_back(node_json(node));
    print_json(Json{{"id", id_hex(r.id())},
                    {"path", r.delegated() ? "delegated" : "direct"},
                    {"nodes", std::move(nodes)}});
    return;
  }
  // The id alone on stdout, so `id=$(postctl notify ...)` works; how it left on stderr.
  std::cout << id_hex(r.id()) << "\n";
  if (r.delegated()) {
    std::cerr << "delegated to " << r.nodes_size() << " nodes:";
    for (const auto& node : r.nodes()) std::cerr << " " << short_id(node.id());
    std::cerr << " (the recipient's node did not take it; they deliver when it is back)\n";
  } else if (!r.nodes().empty()) {
    std::cerr << "direct to " << short_id(r.nodes(0).id()) << " (" << r.nodes(0).address()
              << "), the recipient's node\n";
  } else {
    std::cerr << "direct to the recipient's node\n";
  }
}

void print_notifications(const admin::NotificationsReply& r, bool json) {
  if (json) {
    Json list = Json::array();
    for (const auto& m : r.notifications()) {
      list.push_back(
          Json{{"index", m.index()},
               {"id", id_hex(m.id())},
               {"sender_email", m.sender_email()},
               {"application", m.application()},
               {"created_unix_ms", m.created_unix_ms()},
               {"received_unix_ms", m.received_unix_ms()},
               {"size", m.app_data().size()},
               {"app_data_base64", post::crypto::base64_encode(post::as_bytes(m.app_data()))},
               {"content_handle",
                m.content_handle().empty() ? Json(nullptr) : Json(id_hex(m.content_handle()))}});
    }
    print_json(Json{
        {"user", r.user()}, {"last_index", r.last_index()}, {"notifications", std::move(list)}});
    return;
  }
  bool any_content = std::any_of(r.notifications().begin(), r.notifications().end(),
                                 [](const auto& m) { return !m.content_handle().empty(); });
  if (!r.notifications().empty()) {
    std::vector<std::string> headers = {"#", "ID", "FROM", "APP", "CREATED", "RECEIVED", "DATA"};
    if (any_content) headers.push_back("CONTENT");
    Table table(headers, {true});
    for (const auto& m : r.notifications()) {
      std::vector<std::string> row = {n(m.index()),
                                      short_id(m.id()),
                                      m.sender_email(),
                                      m.application(),
                                      utc_text(m.created_unix_ms()),
                                      utc_text(m.received_unix_ms()),
                                      payload_text(m.app_data())};
      if (any_content) {
        row.push_back(m.content_handle().empty() ? "-" : short_id(m.content_handle()));
      }
      table.add(std::move(row));
    }
    table.print(std::cout);
  }
  std::cerr << r.notifications_size() << " notification(s) for " << r.user() << "; last index "
            << r.last_index() << " (times UTC)\n";
}

void print_block_sender(const admin::BlockSenderReply& r, bool json) {
  if (json) {
    print_json(Json{{"user", r.user()}, {"sender", r.sender()}, {"blocked", r.blocked()}});
    return;
  }
  if (r.blocked()) {
    std::cout << "notifications from " << r.sender() << " to " << r.user()
              << " are refused from now on\n";
  } else {
    std::cout << "notifications from " << r.sender() << " to " << r.user()
              << " are accepted again\n";
  }
}

Json plugin_json(const admin::PluginInfo& p) {
  return Json{{"name", p.name()},
              {"path", p.path()},
              {"enabled", p.enabled()},
              {"state", p.state()},
              {"plugin_name", p.plugin_name()},
              {"version", p.version()},
              {"loaded_unix_ms", p.loaded_unix_ms()},
              {"reloads", p.reloads()},
              {"error", p.error()}};
}

void print_plugins(const admin::PluginsReply& r, bool json) {
  if (json) {
    Json plugins = Json::array();
    for (const auto& p : r.plugins()) plugins.push_back(plugin_json(p));
    print_json(Json{{"plugins", std::move(plugins)}, {"config_error", r.config_error()}});
    return;
  }
  std::cout << r.plugins_size() << " plugin(s) configured\n";
  if (!r.plugins().empty()) {
    std::cout << "\n";
    Table table({"NAME", "STATE", "VERSION", "LOADED (UTC)", "RELOADS", "PATH"},
                {false, false, false, false, true, false});
    for (const auto& p : r.plugins()) {
      std::string version = p.version().empty() ? "-" : p.plugin_name() + " " + p.version();
      table.add(
          {p.name(), p.state(), version, utc_text(p.loaded_unix_ms()), n(p.reloads()), p.path()});
    }
    table.print(std::cout);
  }
  for (const auto& p : r.plugins()) {
    if (!p.error().empty()) std::cerr << p.name() << ": " << p.error() << "\n";
  }
  if (!r.config_error().empty()) {
    std::cerr << "the last edit of the configuration was not applied: " << r.config_error() << "\n";
  }
}

void print_plugin_action(const std::string& command, const admin::PluginActionReply& r, bool json) {
  const auto& p = r.plugin();
  if (json) {
    print_json(plugin_json(p));
    return;
  }
  if (command == "disable") {
    std::cout << p.name() << " disabled\n";
  } else {
    std::cout << p.name() << " " << p.state() << ": " << p.plugin_name() << " " << p.version()
              << (command == "reload" ? " (reload " + n(p.reloads()) + ")" : std::string()) << "\n";
  }
  if (!p.error().empty()) std::cerr << p.name() << ": " << p.error() << "\n";
}

// The plugin's answer: its text on stdout when it answered POST_OK, else on stderr (the caller
// exits 1). With --json, {"plugin", "status", "text"} on stdout either way.
bool print_plugin_command(const admin::PluginCommandReply& r, bool json) {
  const bool ok = r.status() == POST_OK;
  if (json) {
    print_json(Json{{"plugin", r.name()}, {"status", r.status()}, {"text", r.text()}});
  }
  std::ostream& out = ok ? std::cout : std::cerr;
  if (!json || !ok) {
    if (!ok) out << "postctl: plugin " << r.name() << " answered " << r.status() << ": ";
    out << r.text();
    if (r.text().empty() || r.text().back() != '\n') out << "\n";
  }
  return ok;
}

// The whole of `path` ('-': stdin), or an error naming it.
Result<std::string> read_input(const std::string& path) {
  std::ostringstream text;
  if (path == "-") {
    text << std::cin.rdbuf();
    return text.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return post::make_error(post::CoreErrc::kIoError,
                            "cannot read " + path + ": " + std::strerror(errno));
  }
  text << in.rdbuf();
  return text.str();
}

// Reports `message` on stderr and, with --json, as {"error": message} on stdout.
int fail(int code, const std::string& message, bool json) {
  std::cerr << "postctl: " << message << "\n";
  if (json) print_json(Json{{"error", message}});
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "postctl: ask a running postd about its node over the node's admin endpoint (the "
      "`admin:` address in its configuration)."};
  app.footer(
      "Exit codes: 0 answered; 1 the node answered with an error; 2 usage or configuration "
      "error; 3 no answer (cannot connect, timed out, or an unreadable answer).\n"
      "See docs/POSTCTL.md for the output of each command and its JSON keys.");
  app.set_version_flag("--version", std::string("postctl ") + POST_VERSION);
  app.fallthrough();

  std::string admin_text;
  std::string config_path;
  bool json = false;
  double timeout_seconds = kDefaultTimeoutSeconds;
  auto* admin_opt = app.add_option(
      "-a,--admin", admin_text,
      "the admin endpoint, HOST:PORT or [IPv6]:PORT (default " + std::string(kDefaultAdmin) + ")");
  auto* config_opt = app.add_option("-c,--config", config_path,
                                    "take the admin endpoint from this node configuration (YAML, "
                                    "its `admin:` key)");
  admin_opt->excludes(config_opt);
  app.add_flag("--json", json, "print one JSON object instead of text (keys: docs/POSTCTL.md)");
  auto* timeout_opt =
      app.add_option("-t,--timeout", timeout_seconds,
                     "give up after this many seconds (connecting and answering; default 5, "
                     "60 for put, get, subscribe, anycast, notify and command)")
          ->check(CLI::Range(0.001, 3600.0));

  auto* status_cmd = app.add_subcommand(
      "status",
      "the node: id, address, ring, state, uptime, version, leaf set and routing "
      "table sizes, links, failed nodes, counters");
  auto* leafset_cmd =
      app.add_subcommand("leafset", "the leaf set in ring order: side, position, id, address, RTT");
  auto* routes_cmd = app.add_subcommand(
      "routes", "the routing table's filled slots: row, column, id, address, RTT");
  auto* peers_cmd = app.add_subcommand(
      "peers", "open transport links: direction, id, address, RTT, queued bytes, frames");
  auto* lookup_cmd = app.add_subcommand(
      "lookup", "which node is responsible for KEY (its root), and the hops to it");
  std::string key_text;
  lookup_cmd->add_option("KEY", key_text, "the key: 64 hex characters (a 256-bit id)")->required();
  auto* put_cmd = app.add_subcommand(
      "put",
      "store FILE as a content-hash block on the k nodes closest to its handle; prints "
      "the handle");
  std::string put_path;
  put_cmd->add_option("FILE", put_path, "the file to store ('-' reads stdin); at most 4 MiB")
      ->required();
  auto* get_cmd =
      app.add_subcommand("get", "fetch the block HANDLE and write its payload to stdout");
  std::string handle_text;
  std::string output_path;
  get_cmd->add_option("HANDLE", handle_text, "the block's handle: 64 hex characters")->required();
  get_cmd->add_option("-o,--output", output_path, "write the payload to this file instead");

  // Scribe groups: each names its GROUP by name (hashed to the group id) or, with --id, by id.
  std::string group_text;
  bool group_is_id = false;
  std::string message_text;
  std::string message_path;
  bool accept_anycast = false;
  std::uint64_t after = 0;
  auto add_group = [&](CLI::App* cmd) {
    cmd->add_option("GROUP", group_text,
                    "the group's name (its id is the SHA-256 of the name), or its id with --id")
        ->required();
    cmd->add_flag("--id", group_is_id, "GROUP is a 64-hex-character group id, not a name");
  };
  auto add_message = [&](CLI::App* cmd) {
    auto* text = cmd->add_option("MESSAGE", message_text, "the message");
    auto* file = cmd->add_option("-f,--file", message_path,
                                 "send the contents of this file ('-': stdin) instead");
    text->excludes(file);
  };
  auto* subscribe_cmd =
      app.add_subcommand("subscribe",
                         "make this node a member of GROUP; what is published to the group is kept "
                         "for `received` until postd stops");
  add_group(subscribe_cmd);
  subscribe_cmd->add_flag("--accept-anycast", accept_anycast,
                          "also accept anycasts to the group (kept with the messages)");
  auto* unsubscribe_cmd =
      app.add_subcommand("unsubscribe", "stop being a member of GROUP (through this endpoint)");
  add_group(unsubscribe_cmd);
  auto* publish_cmd =
      app.add_subcommand("publish", "send MESSAGE to every member of GROUP (at most 1 MiB)");
  add_group(publish_cmd);
  add_message(publish_cmd);
  auto* received_cmd =
      app.add_subcommand("received",
                         "the messages this node received for GROUP since it subscribed, oldest "
                         "first: index and message (base64: when not printable)");
  add_group(received_cmd);
  received_cmd->add_option("--after", after, "only messages with a larger index");
  auto* anycast_cmd = app.add_subcommand(
      "anycast", "offer MESSAGE to GROUP's members one at a time until one accepts; prints it");
  add_group(anycast_cmd);
  add_message(anycast_cmd);
  auto* groups_cmd = app.add_subcommand(
      "groups", "the groups whose trees this node is in: role, parent, children");

  // Users and POST notifications.
  auto* users_cmd = app.add_subcommand(
      "users", "the users this node serves: email, name, sender puzzle, notifications received");
  std::string from_email, to_email, user_email, sender_email;
  std::string app_name = "postctl";
  std::string data_text, data_path;
  auto* notify_cmd = app.add_subcommand(
      "notify",
      "send a POST notification from a user this node serves to any user; prints its "
      "id, and whether the recipient's node took it or delegates hold it");
  notify_cmd->add_option("--from", from_email, "the sender: a user this node serves (email)")
      ->required();
  notify_cmd->add_option("--to", to_email, "the recipient's email")->required();
  notify_cmd->add_option("--app", app_name, "the application the notification is for")
      ->capture_default_str();
  auto* data_opt = notify_cmd->add_option("--data", data_text, "the application's data (text)");
  auto* data_file_opt = notify_cmd->add_option(
      "--data-file", data_path, "send the contents of this file ('-': stdin) as the data");
  data_opt->excludes(data_file_opt);
  auto* notifications_cmd =
      app.add_subcommand("notifications",
                         "what a user this node serves received, oldest first: index, id, "
                         "sender, application, times, data (base64: when not printable)");
  notifications_cmd->add_option("-u,--user", user_email, "the user (email)")->required();
  notifications_cmd->add_option("--after", after, "only notifications with a larger index");
  auto add_block_options = [&](CLI::App* cmd) {
    cmd->add_option("-u,--user", user_email, "a user this node serves (email)")->required();
    cmd->add_option("-s,--sender", sender_email, "the sender's email")->required();
  };
  auto* block_cmd = app.add_subcommand(
      "block", "refuse notifications from SENDER to USER (delegates holding some drop them)");
  add_block_options(block_cmd);
  auto* unblock_cmd =
      app.add_subcommand("unblock", "accept notifications from SENDER to USER again");
  add_block_options(unblock_cmd);
  auto* plugins_cmd = app.add_subcommand(
      "plugins", "the plugins node.yaml configures: state, version, load time, reloads, errors");
  std::string plugin_name;
  auto* reload_cmd = app.add_subcommand(
      "reload",
      "load plugin NAME's file afresh and hand its state over; on failure the old "
      "version keeps serving");
  auto* enable_cmd =
      app.add_subcommand("enable", "load plugin NAME (in the running node; node.yaml unchanged)");
  auto* disable_cmd = app.add_subcommand(
      "disable", "unload plugin NAME (in the running node; node.yaml unchanged)");
  for (auto* cmd : {reload_cmd, enable_cmd, disable_cmd}) {
    cmd->add_option("NAME", plugin_name, "the plugin's name in node.yaml")->required();
  }
  std::vector<std::string> command_args;
  auto* command_cmd = app.add_subcommand(
      "command",
      "hand ARGS to the admin command handler of plugin NAME and print its answer (exit 1 with "
      "the answer on stderr when the plugin reports an error); put -- before ARGS that start "
      "with '-'");
  command_cmd->add_option("NAME", plugin_name, "the plugin's name in node.yaml")->required();
  command_cmd->add_option("ARGS", command_args, "the command and its arguments, for the plugin");
  app.require_subcommand(1);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }

  Result<Target> target = config_path.empty()
                              ? parse_target(admin_text.empty() ? kDefaultAdmin : admin_text)
                              : target_from_config(config_path);
  if (!target.ok()) return fail(kExitUsage, target.error().message, json);

  admin::AdminRequest request;
  request.set_request_id(1);
  std::string command;
  if (status_cmd->parsed()) {
    command = "status";
    request.mutable_status();
  } else if (leafset_cmd->parsed()) {
    command = "leafset";
    request.mutable_leaf_set();
  } else if (routes_cmd->parsed()) {
    command = "routes";
    request.mutable_routes();
  } else if (peers_cmd->parsed()) {
    command = "peers";
    request.mutable_peers();
  } else if (lookup_cmd->parsed()) {
    command = "lookup";
    if (auto key = post::Id::from_hex(key_text); !key.ok()) {
      std::string why = key_text.size() == 64
                            ? "it holds a character that is not a hex digit"
                            : "expected 64 hex characters, got " + std::to_string(key_text.size());
      return fail(kExitUsage, "'" + key_text + "' is not a key: " + why, json);
    }
    request.mutable_lookup()->set_hex(key_text);
  } else if (put_cmd->parsed()) {
    command = "put";
    auto content = read_input(put_path);
    if (!content.ok()) return fail(kExitUsage, content.error().message, json);
    if (content->size() > post::past::kMaxPayloadBytes) {
      return fail(kExitUsage,
                  put_path + " is " + std::to_string(content->size()) +
                      " bytes; one block holds at most " +
                      std::to_string(post::past::kMaxPayloadBytes),
                  json);
    }
    request.mutable_put()->set_content(std::move(*content));
  } else if (get_cmd->parsed()) {
    command = "get";
    if (auto key = post::Id::from_hex(handle_text); !key.ok()) {
      return fail(kExitUsage,
                  "'" + handle_text + "' is not a block handle: expected 64 hex characters", json);
    }
    request.mutable_get()->set_hex(handle_text);
  } else if (groups_cmd->parsed()) {
    command = "groups";
    request.mutable_groups();
  } else if (users_cmd->parsed()) {
    command = "users";
    request.mutable_users();
  } else if (notify_cmd->parsed()) {
    command = "notify";
    std::string data = data_text;
    if (!data_path.empty()) {
      auto content = read_input(data_path);
      if (!content.ok()) return fail(kExitUsage, content.error().message, json);
      data = std::move(*content);
    }
    if (data.size() > post::services::kMaxAppDataBytes) {
      return fail(kExitUsage,
                  "the data is " + std::to_string(data.size()) + " bytes; a notification " +
                      "carries at most " + std::to_string(post::services::kMaxAppDataBytes),
                  json);
    }
    if (app_name.empty() || app_name.size() > post::services::kMaxApplicationNameBytes) {
      return fail(kExitUsage,
                  "--app must be 1 to " + std::to_string(post::services::kMaxApplicationNameBytes) +
                      " bytes",
                  json);
    }
    auto* notify = request.mutable_notify();
    notify->set_from(from_email);
    notify->set_to(to_email);
    notify->set_application(app_name);
    notify->set_app_data(std::move(data));
  } else if (notifications_cmd->parsed()) {
    command = "notifications";
    request.mutable_notifications()->set_user(user_email);
    request.mutable_notifications()->set_after(after);
  } else if (block_cmd->parsed() || unblock_cmd->parsed()) {
    command = block_cmd->parsed() ? "block" : "unblock";
    auto* block = request.mutable_block_sender();
    block->set_user(user_email);
    block->set_sender(sender_email);
    block->set_unblock(unblock_cmd->parsed());
  } else if (plugins_cmd->parsed()) {
    command = "plugins";
    request.mutable_plugins();
  } else if (reload_cmd->parsed() || enable_cmd->parsed() || disable_cmd->parsed()) {
    auto* action = request.mutable_plugin_action();
    action->set_name(plugin_name);
    if (reload_cmd->parsed()) {
      command = "reload";
      action->set_action(admin::PLUGIN_ACTION_RELOAD);
    } else if (enable_cmd->parsed()) {
      command = "enable";
      action->set_action(admin::PLUGIN_ACTION_ENABLE);
    } else {
      command = "disable";
      action->set_action(admin::PLUGIN_ACTION_DISABLE);
    }
  } else if (command_cmd->parsed()) {
    command = "command";
    if (command_args.size() > POST_ADMIN_MAX_ARGS) {
      return fail(kExitUsage,
                  std::to_string(command_args.size()) + " arguments; a plugin takes at most " +
                      std::to_string(POST_ADMIN_MAX_ARGS),
                  json);
    }
    for (const std::string& arg : command_args) {
      if (arg.size() > POST_ADMIN_MAX_ARG_BYTES) {
        return fail(kExitUsage,
                    "an argument of " + std::to_string(arg.size()) + " bytes; at most " +
                        std::to_string(POST_ADMIN_MAX_ARG_BYTES),
                    json);
      }
    }
    auto* plugin_command = request.mutable_plugin_command();
    plugin_command->set_name(plugin_name);
    for (const std::string& arg : command_args) plugin_command->add_args(arg);
  } else {
    // A group command.
    admin::GroupRef group;
    if (group_is_id) {
      if (auto id = post::Id::from_hex(group_text); !id.ok()) {
        return fail(kExitUsage,
                    "'" + group_text + "' is not a group id: expected 64 hex characters", json);
      }
      group.set_hex(group_text);
    } else {
      if (group_text.empty()) return fail(kExitUsage, "the group name is empty", json);
      group.set_name(group_text);
    }
    std::string message;
    if (publish_cmd->parsed() || anycast_cmd->parsed()) {
      CLI::App* cmd = publish_cmd->parsed() ? publish_cmd : anycast_cmd;
      if (cmd->get_option("MESSAGE")->count() == 0 && message_path.empty()) {
        return fail(kExitUsage, "give the MESSAGE, or --file FILE", json);
      }
      if (!message_path.empty()) {
        auto content = read_input(message_path);
        if (!content.ok()) return fail(kExitUsage, content.error().message, json);
        message = std::move(*content);
      } else {
        message = message_text;
      }
      if (message.size() > post::scribe::kMaxPayloadBytes) {
        return fail(kExitUsage,
                    "the message is " + std::to_string(message.size()) + " bytes; at most " +
                        std::to_string(post::scribe::kMaxPayloadBytes),
                    json);
      }
    }
    if (subscribe_cmd->parsed()) {
      command = "subscribe";
      *request.mutable_subscribe()->mutable_group() = group;
      request.mutable_subscribe()->set_accept_anycast(accept_anycast);
    } else if (unsubscribe_cmd->parsed()) {
      command = "unsubscribe";
      *request.mutable_unsubscribe()->mutable_group() = group;
    } else if (publish_cmd->parsed()) {
      command = "publish";
      *request.mutable_publish()->mutable_group() = group;
      request.mutable_publish()->set_payload(std::move(message));
    } else if (received_cmd->parsed()) {
      command = "received";
      *request.mutable_received()->mutable_group() = group;
      request.mutable_received()->set_after(after);
    } else if (anycast_cmd->parsed()) {
      command = "anycast";
      *request.mutable_anycast()->mutable_group() = group;
      request.mutable_anycast()->set_payload(std::move(message));
    }
  }
  // Puts, gets, subscriptions, anycasts and notifications wait for other nodes across the
  // network.
  if ((command == "put" || command == "get" || command == "subscribe" || command == "anycast" ||
       command == "notify" || command == "command") &&
      timeout_opt->count() == 0) {
    timeout_seconds = kDefaultStorageTimeoutSeconds;
  }

  AdminClient client(*target, timeout_seconds);
  auto response = client.call(request);
  if (!response.ok()) return fail(kExitNoAnswer, response.error().message, json);
  if (response->has_error()) {
    return fail(kExitNodeError,
                "postd at " + target->text + " could not answer " + command + ": " +
                    response->error().message(),
                json);
  }
  bool matches = (command == "status" && response->has_status()) ||
                 (command == "leafset" && response->has_leaf_set()) ||
                 (command == "routes" && response->has_routes()) ||
                 (command == "peers" && response->has_peers()) ||
                 (command == "lookup" && response->has_lookup()) ||
                 (command == "put" && response->has_put()) ||
                 (command == "get" && response->has_get()) ||
                 (command == "subscribe" && response->has_subscribe()) ||
                 (command == "unsubscribe" && response->has_unsubscribe()) ||
                 (command == "publish" && response->has_publish()) ||
                 (command == "received" && response->has_received()) ||
                 (command == "anycast" && response->has_anycast()) ||
                 (command == "groups" && response->has_groups()) ||
                 (command == "users" && response->has_users()) ||
                 (command == "notify" && response->has_notify()) ||
                 (command == "notifications" && response->has_notifications()) ||
                 ((command == "block" || command == "unblock") && response->has_block_sender()) ||
                 (command == "plugins" && response->has_plugins()) ||
                 ((command == "reload" || command == "enable" || command == "disable") &&
                  response->has_plugin_action()) ||
                 (command == "command" && response->has_plugin_command());
  if (!matches) {
    return fail(kExitNoAnswer,
                "postd's admin endpoint at " + target->text + " answered " + command +
                    " with another kind of answer (is postctl older or newer than postd?)",
                json);
  }
  switch (response->answer_case()) {
    case admin::AdminResponse::kStatus: print_status(response->status(), json); break;
    case admin::AdminResponse::kLeafSet: print_leaf_set(response->leaf_set(), json); break;
    case admin::AdminResponse::kRoutes: print_routes(response->routes(), json); break;
    case admin::AdminResponse::kPeers: print_peers(response->peers(), json); break;
    case admin::AdminResponse::kLookup: print_lookup(response->lookup(), json); break;
    case admin::AdminResponse::kPut: print_put(response->put(), json); break;
    case admin::AdminResponse::kGet:
      if (!print_get(response->get(), json, output_path)) {
        return fail(kExitUsage, "cannot write " + output_path + ": " + std::strerror(errno), false);
      }
      break;
    case admin::AdminResponse::kSubscribe: print_subscribe(response->subscribe(), json); break;
    case admin::AdminResponse::kUnsubscribe:
      print_group_only("unsubscribed from", response->unsubscribe().group(), json);
      break;
    case admin::AdminResponse::kPublish:
      print_group_only("published to", response->publish().group(), json);
      break;
    case admin::AdminResponse::kReceived: print_received(response->received(), json); break;
    case admin::AdminResponse::kAnycast: print_anycast(response->anycast(), json); break;
    case admin::AdminResponse::kGroups: print_groups(response->groups(), json); break;
    case admin::AdminResponse::kUsers: print_users(response->users(), json); break;
    case admin::AdminResponse::kNotify: print_notify(response->notify(), json); break;
    case admin::AdminResponse::kNotifications:
      print_notifications(response->notifications(), json);
      break;
    case admin::AdminResponse::kBlockSender:
      print_block_sender(response->block_sender(), json);
      break;
    case admin::AdminResponse::kPlugins: print_plugins(response->plugins(), json); break;
    case admin::AdminResponse::kPluginAction:
      print_plugin_action(command, response->plugin_action(), json);
      break;
    case admin::AdminResponse::kPluginCommand:
      if (!print_plugin_command(response->plugin_command(), json)) {
        std::cout.flush();
        return kExitNodeError;
      }
      break;
    default: break;
  }
  std::cout.flush();
  return std::cout ? kExitOk : kExitNoAnswer;
}
