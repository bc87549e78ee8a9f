// The admin endpoint with a fake handler: every kind of request round-trips, pipelined
// requests are answered in order however late their answers come, and bad input (garbage,
// oversized or undecodable frames) closes only the connection that sent it.
#include "host/daemon/admin_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <optional>

#include <boost/asio/write.hpp>

#include "host/core/frame.h"
#include "tests/support/test_support.h"

namespace post::daemon {
namespace {

namespace asio = boost::asio;
namespace admin = proto::admin;
using asio::ip::tcp;
using namespace std::chrono_literals;
using ::testing::HasSubstr;

// Answers each kind with a recognisable canned answer, at once or, when `defer` is set, only
// when the test calls answer_next/answer_all.
class FakeHandler : public AdminHandler {
 public:
  void handle(const admin::AdminRequest& request,
              std::function<void(admin::AdminResponse)> reply) override {
    seen.push_back(request);
    if (defer) {
      pending.push_back({canned(request), std::move(reply)});
      return;
    }
    reply(canned(request));
  }

  static admin::AdminResponse canned(const admin::AdminRequest& request) {
    admin::AdminResponse r;
    switch (request.kind_case()) {
      case admin::AdminRequest::kStatus:
        r.mutable_status()->set_version("postd test");
        r.mutable_status()->set_state(admin::JOIN_STATE_READY);
        break;
      case admin::AdminRequest::kLeafSet: r.mutable_leaf_set()->set_capacity(24); break;
      case admin::AdminRequest::kRoutes: r.mutable_routes()->set_digit_bits(4); break;
      case admin::AdminRequest::kPeers:
        r.mutable_peers()->add_links()->set_frames_in(request.request_id());
        break;
      case admin::AdminRequest::kLookup:
        if (request.lookup().hex() == "bad") {
          r.mutable_error()->set_message("lookup key 'bad' is not a key");
        } else {
          r.mutable_lookup()->set_hops(3);
        }
        break;
      case admin::AdminRequest::kPut: r.mutable_put()->set_handle("h"); break;
      case admin::AdminRequest::kGet: r.mutable_get()->set_payload("p"); break;
      case admin::AdminRequest::kSubscribe: r.mutable_subscribe()->set_root(true); break;
      case admin::AdminRequest::kUnsubscribe: r.mutable_unsubscribe(); break;
      case admin::AdminRequest::kPublish: r.mutable_publish(); break;
      case admin::AdminRequest::kReceived: r.mutable_received()->set_last_index(1); break;
      case admin::AdminRequest::kAnycast: r.mutable_anycast(); break;
      case admin::AdminRequest::kGroups: r.mutable_groups(); break;
      case admin::AdminRequest::kUsers: r.mutable_users(); break;
      case admin::AdminRequest::kNotify: r.mutable_notify(); break;
      case admin::AdminRequest::kNotifications: r.mutable_notifications(); break;
      case admin::AdminRequest::kBlockSender: r.mutable_block_sender(); break;
      case admin::AdminRequest::KIND_NOT_SET: break;
    }
    return r;
  }

  void answer_all() {
    auto p = std::move(pending);
    pending.clear();
    for (auto& [response, reply] : p) reply(response);
  }

  bool defer = false;
  std::vector<admin::AdminRequest> seen;
  std::deque<std::pair<admin::AdminResponse, std::function<void(admin::AdminResponse)>>> pending;
};

tcp::endpoint endpoint_of(const net::Address& a) {
  return {asio::ip::address_v4(a.v4_host_order()), a.port};
}

Bytes request_frame(const admin::AdminRequest& r) {
  return wire::encode_frame(wire::encode_message(r));
}

admin::AdminRequest status_request(std::uint64_t id) {
  admin::AdminRequest r;
  r.set_request_id(id);
  r.mutable_status();
  return r;
}

admin::AdminRequest peers_request(std::uint64_t id) {
  admin::AdminRequest r;
  r.set_request_id(id);
  r.mutable_peers();
  return r;
}

// A client on the test's io_context: connects and writes blocking (the kernel takes the
// bytes without the server's help), reads asynchronously while the test runs the io_context.
class TestClient {
 public:
  TestClient(asio::io_context& io, const net::Address& server)
      : io_(io), state_(std::make_shared<State>(io)) {
    boost::system::error_code ec;
    state_->socket.connect(endpoint_of(server), ec);
    EXPECT_FALSE(ec) << "connect to " << server.to_string() << ": " << ec.message();
    read_more(state_);
  }
  ~TestClient() {
    boost::system::error_code ignored;
    state_->socket.close(ignored);
  }

  void send(ByteView bytes) {
    boost::system::error_code ec;
    asio::write(state_->socket, asio::buffer(bytes.data(), bytes.size()), ec);
    EXPECT_FALSE(ec) << ec.message();
  }
  void send(const admin::AdminRequest& r) { send(request_frame(r)); }
  void shutdown_send() {
    boost::system::error_code ignored;
    state_->socket.shutdown(tcp::socket::shutdown_send, ignored);
  }

  // The next answer; nullopt when the server closed the connection first or none came.
  std::optional<admin::AdminResponse> next(std::chrono::milliseconds timeout = 5s) {
    testing::run_until(
        io_, [&] { return !state_->responses.empty() || state_->closed; }, timeout);
    if (state_->responses.empty()) return std::nullopt;
    auto r = std::move(state_->responses.front());
    state_->responses.pop_front();
    return r;
  }
  bool wait_closed(std::chrono::milliseconds timeout = 5s) {
    return testing::run_until(
        io_, [&] { return state_->closed; }, timeout);
  }
  bool closed() const { return state_->closed; }

 private:
  struct State {
    explicit State(asio::io_context& io) : socket(io) {}
    tcp::socket socket;
    wire::FrameDecoder decoder;
    std::array<std::uint8_t, 4096> buffer{};
    std::deque<admin::AdminResponse> responses;
    bool closed = false;
  };

  static void read_more(const std::shared_ptr<State>& s) {
    s->socket.async_read_some(
        asio::buffer(s->buffer), [s](const boost::system::error_code& ec, std::size_t n) {
          if (ec) {
            s->closed = true;
            return;
          }
          s->decoder.feed(ByteView(s->buffer.data(), n));
          for (;;) {
            auto body = s->decoder.next();
            ASSERT_TRUE(body.ok()) << body.error().to_string();
            if (!body->has_value()) break;
            auto r = wire::decode_message<admin::AdminResponse>(**body, "test answer");
            ASSERT_TRUE(r.ok()) << r.error().to_string();
            s->responses.push_back(std::move(*r));
          }
          read_more(s);
        });
  }

  asio::io_context& io_;
  std::shared_ptr<State> state_;
};

class AdminServerTest : public ::testing::Test {
 protected:
  void start(AdminServerOptions options = {}) {
    server = std::make_unique<AdminServer>(io, testing::loopback_any_port(), handler, options);
    auto s = server->start();
    ASSERT_TRUE(s.ok()) << s.error().to_string();
    ASSERT_NE(server->address().port, 0);
  }

  asio::io_context io;
  FakeHandler handler;
  std::unique_ptr<AdminServer> server;
};

TEST_F(AdminServerTest, AnswersEveryKindOfRequestWithItsRequestId) {
  start();
  TestClient client(io, server->address());

  client.send(status_request(7));
  auto status = client.next();
  ASSERT_TRUE(status);
  EXPECT_EQ(status->request_id(), 7u);
  ASSERT_TRUE(status->has_status());
  EXPECT_EQ(status->status().version(), "postd test");

  admin::AdminRequest leaf_set;
  leaf_set.set_request_id(8);
  leaf_set.mutable_leaf_set();
  client.send(leaf_set);
  auto l = client.next();
  ASSERT_TRUE(l && l->has_leaf_set());
  EXPECT_EQ(l->request_id(), 8u);
  EXPECT_EQ(l->leaf_set().capacity(), 24u);

  admin::AdminRequest routes;
  routes.set_request_id(9);
  routes.mutable_routes();
  client.send(routes);
  auto r = client.next();
  ASSERT_TRUE(r && r->has_routes());
  EXPECT_EQ(r->routes().digit_bits(), 4u);

  client.send(peers_request(10));
  auto p = client.next();
  ASSERT_TRUE(p && p->has_peers());
  EXPECT_EQ(p->peers().links(0).frames_in(), 10u);

  admin::AdminRequest lookup;
  lookup.set_request_id(11);
  lookup.mutable_lookup()->set_hex(std::string(64, 'a'));
  client.send(lookup);
  auto k = client.next();
  ASSERT_TRUE(k && k->has_lookup());
  EXPECT_EQ(k->lookup().hops(), 3u);
  EXPECT_EQ(k->request_id(), 11u);

  EXPECT_EQ(handler.seen.size(), 5u);
  EXPECT_EQ(server->stats().requests_answered, 5u);
  EXPECT_FALSE(client.closed());
}

TEST_F(AdminServerTest, PassesAHandlersErrorAnswerThroughAndKeepsTheConnection) {
  start();
  TestClient client(io, server->address());
  admin::AdminRequest lookup;
  lookup.set_request_id(1);
  lookup.mutable_lookup()->set_hex("bad");
  client.send(lookup);
  auto answer = client.next();
  ASSERT_TRUE(answer && answer->has_error());
  EXPECT_THAT(answer->error().message(), HasSubstr("'bad'"));

  client.send(status_request(2));
  auto status = client.next();
  ASSERT_TRUE(status && status->has_status());
}

TEST_F(AdminServerTest, AnswersPipelinedRequestsInTheOrderTheyCameWhateverOrderTheyAreReady) {
  start();
  handler.defer = true;
  TestClient client(io, server->address());
  Bytes batch;
  for (std::uint64_t id = 1; id <= 5; ++id) append(batch, request_frame(peers_request(id)));
  client.send(batch);
  ASSERT_TRUE(testing::run_until(io, [&] { return handler.pending.size() == 5; }));

  // Ready last-first: nothing may leave until request 1 is answered.
  for (int i = 4; i >= 1; --i) handler.pending[i].second(handler.pending[i].first);
  EXPECT_FALSE(client.next(100ms));
  handler.pending[0].second(handler.pending[0].first);
  for (std::uint64_t id = 1; id <= 5; ++id) {
    auto r = client.next();
    ASSERT_TRUE(r) << "answer " << id;
    EXPECT_EQ(r->request_id(), id);
    EXPECT_EQ(r->peers().links(0).frames_in(), id);
  }
}

TEST_F(AdminServerTest, ReadsNoFurtherRequestsWhileTooManyAreUnanswered) {
  AdminServerOptions options;
  options.max_pipelined = 2;
  start(options);
  handler.defer = true;
  TestClient client(io, server->address());
  Bytes batch;
  for (std::uint64_t id = 1; id <= 5; ++id) append(batch, request_frame(peers_request(id)));
  client.send(batch);
  testing::run_until(
      io, [] { return false; }, 100ms);
  EXPECT_EQ(handler.seen.size(), 2u);

  std::vector<std::uint64_t> ids;
  for (int round = 0; round < 5 && ids.size() < 5; ++round) {
    handler.answer_all();
    while (auto r = client.next(200ms)) ids.push_back(r->request_id());
  }
  EXPECT_EQ(ids, (std::vector<std::uint64_t>{1, 2, 3, 4, 5}));
}

TEST_F(AdminServerTest, ClosesAConnectionThatSendsGarbageAndKeepsServingOthers) {
  start();
  TestClient good(io, server->address());
  TestClient bad(io, server->address());
  bad.send(to_bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_TRUE(bad.wait_closed());
  EXPECT_EQ(server->stats().connections_refused_bad_input, 1u);

  good.send(status_request(1));
  auto answer = good.next();
  ASSERT_TRUE(answer && answer->has_status());
  TestClient later(io, server->address());
  later.send(status_request(2));
  ASSERT_TRUE(later.next());
}

TEST_F(AdminServerTest, RefusesAnOversizedFrameAsSoonAsItsHeaderArrives) {
  start();
  TestClient good(io, server->address());
  TestClient bad(io, server->address());
  // A header announcing one byte more than the limit, and none of the body.
  auto length = static_cast<std::uint32_t>(kMaxAdminRequestBytes + 1);
  Bytes header = {static_cast<std::uint8_t>(length >> 24), static_cast<std::uint8_t>(length >> 16),
                  static_cast<std::uint8_t>(length >> 8), static_cast<std::uint8_t>(length),
                  wire::kFrameVersion};
  bad.send(header);
  EXPECT_TRUE(bad.wait_closed());
  EXPECT_EQ(server->stats().connections_refused_bad_input, 1u);
  EXPECT_TRUE(handler.seen.empty());

  good.send(status_request(1));
  ASSERT_TRUE(good.next());
}

TEST_F(AdminServerTest, ClosesAConnectionWhoseFrameIsNotAnAdminRequest) {
  start();
  TestClient bad(io, server->address());
  // A well-formed frame whose body is not a protobuf message (a truncated varint field).
  Bytes body = {0x08, 0xff, 0xff};
  bad.send(wire::encode_frame(body));
  EXPECT_TRUE(bad.wait_closed());
  EXPECT_EQ(server->stats().connections_refused_bad_input, 1u);
  EXPECT_TRUE(handler.seen.empty());
}

TEST_F(AdminServerTest, AnswersARequestOfAnUnknownKindWithAnError) {
  start();
  TestClient client(io, server->address());
  admin::AdminRequest empty;
  empty.set_request_id(4);
  // Field 99 stands for a request kind added in a later version.
  Bytes body = wire::encode_message(empty);
  append(body, Bytes{0x9a, 0x06, 0x00});
  client.send(wire::encode_frame(body));
  auto answer = client.next();
  ASSERT_TRUE(answer && answer->has_error());
  EXPECT_EQ(answer->request_id(), 4u);
  EXPECT_THAT(answer->error().message(), HasSubstr("does not know"));
  EXPECT_TRUE(handler.seen.empty());
  client.send(status_request(5));
  ASSERT_TRUE(client.next());
}

TEST_F(AdminServerTest, AnswersWithAnErrorWhenTheHandlerNeverDoes) {
  AdminServerOptions options;
  options.request_timeout = 100ms;
  start(options);
  handler.defer = true;
  TestClient client(io, server->address());
  client.send(status_request(1));
  auto answer = client.next();
  ASSERT_TRUE(answer && answer->has_error());
  EXPECT_THAT(answer->error().message(), HasSubstr("did not answer"));
  EXPECT_EQ(server->stats().requests_timed_out, 1u);
  // The late answer is dropped, not sent.
  handler.answer_all();
  EXPECT_FALSE(client.next(100ms));
  EXPECT_FALSE(client.closed());
}

TEST_F(AdminServerTest, ClosesIdleConnectionsButNotOnesWaitingForAnAnswer) {
  AdminServerOptions options;
  options.idle_timeout = 100ms;
  start(options);
  TestClient idle(io, server->address());
  handler.defer = true;
  TestClient waiting(io, server->address());
  waiting.send(status_request(1));
  EXPECT_TRUE(idle.wait_closed(2s));
  EXPECT_FALSE(waiting.closed());
  EXPECT_EQ(server->stats().connections_idle_closed, 1u);
  handler.answer_all();
  EXPECT_TRUE(waiting.next());
}

TEST_F(AdminServerTest, AnswersEverythingAClientSentBeforeItStoppedSending) {
  start();
  handler.defer = true;
  TestClient client(io, server->address());
  client.send(status_request(1));
  client.send(status_request(2));
  client.shutdown_send();
  ASSERT_TRUE(testing::run_until(io, [&] { return handler.pending.size() == 2; }));
  handler.answer_all();
  EXPECT_TRUE(client.next());
  EXPECT_TRUE(client.next());
  EXPECT_TRUE(client.wait_closed());
}

TEST_F(AdminServerTest, AnAnswerAfterTheClientLeftIsHarmless) {
  start();
  handler.defer = true;
  {
    TestClient client(io, server->address());
    client.send(status_request(1));
    ASSERT_TRUE(testing::run_until(io, [&] { return handler.pending.size() == 1; }));
  }
  // The server cannot tell a client that left from one that only stopped sending, so it
  // still answers, then closes.
  testing::run_until(
      io, [] { return false; }, 20ms);
  handler.answer_all();
  EXPECT_TRUE(testing::run_until(io, [&] { return server->open_connections() == 0; }));
  handler.defer = false;
  TestClient next(io, server->address());
  next.send(status_request(2));
  EXPECT_TRUE(next.next());
}

TEST_F(AdminServerTest, RefusesConnectionsBeyondTheLimit) {
  AdminServerOptions options;
  options.max_connections = 1;
  start(options);
  TestClient first(io, server->address());
  ASSERT_TRUE(testing::run_until(io, [&] { return server->open_connections() == 1; }));
  TestClient second(io, server->address());
  EXPECT_TRUE(second.wait_closed());
  EXPECT_EQ(server->stats().connections_refused_full, 1u);
  first.send(status_request(1));
  EXPECT_TRUE(first.next());
}

TEST_F(AdminServerTest, StopClosesEveryConnectionAndPendingAnswersAreDropped) {
  start();
  handler.defer = true;
  TestClient client(io, server->address());
  client.send(status_request(1));
  ASSERT_TRUE(testing::run_until(io, [&] { return handler.pending.size() == 1; }));
  server->stop();
  EXPECT_TRUE(client.wait_closed());
  handler.answer_all();
  server.reset();
  testing::run_until(
      io, [] { return false; }, 20ms);
}

TEST_F(AdminServerTest, StartFailsWithTheAddressWhenItIsInUse) {
  start();
  AdminServer second(io, server->address(), handler);
  auto s = second.start();
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.error().message, HasSubstr(server->address().to_string()));
  EXPECT_THAT(s.error().message, HasSubstr("in use"));
}

TEST(DecodeAdminRequest, RefusesBytesThatAreNotARequestAndOversizedOnes) {
  EXPECT_FALSE(decode_admin_request(Bytes{0x08, 0xff}).ok());
  EXPECT_FALSE(decode_admin_request(Bytes(kMaxAdminRequestBytes + 1, 0)).ok());
  auto ok = decode_admin_request(wire::encode_message(status_request(3)));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->request_id(), 3u);
  EXPECT_TRUE(ok->has_status());
}

TEST(ParseLookupKey, TakesThirtyTwoBytesOrSixtyFourHexCharacters) {
  Id key = Id::hash_of(as_bytes("key"));
  admin::LookupRequest by_id;
  by_id.set_id(key.bytes().data(), key.bytes().size());
  auto a = parse_lookup_key(by_id);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, key);

  admin::LookupRequest by_hex;
  by_hex.set_hex(key.to_hex());
  auto b = parse_lookup_key(by_hex);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, key);
}

TEST(ParseLookupKey, RefusesAnythingElseShowingTheKey) {
  admin::LookupRequest short_hex;
  short_hex.set_hex("abc");
  auto a = parse_lookup_key(short_hex);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().message, "lookup key 'abc' is not a key: expected 64 hex characters, got 3");

  admin::LookupRequest not_hex;
  not_hex.set_hex(std::string(63, 'a') + "\n");
  auto b = parse_lookup_key(not_hex);
  ASSERT_FALSE(b.ok());
  EXPECT_THAT(b.error().message, HasSubstr("a?' is not a key: it holds a character that is not"));

  admin::LookupRequest long_hex;
  long_hex.set_hex(std::string(1000, 'a'));
  auto c = parse_lookup_key(long_hex);
  ASSERT_FALSE(c.ok());
  EXPECT_LT(c.error().message.size(), 200u);

  admin::LookupRequest short_id;
  short_id.set_id("12345");
  auto d = parse_lookup_key(short_id);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().message, "lookup key is 5 bytes; it must be 32 bytes");

  EXPECT_FALSE(parse_lookup_key(admin::LookupRequest()).ok());
}

}  // namespace
}  // namespace post::daemon
