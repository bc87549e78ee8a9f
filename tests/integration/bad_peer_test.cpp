// A real postd process on loopback meets misbehaving peers: garbage, an oversized frame, a
// truncated frame, a certificate from another CA and a replayed handshake. Each is refused
// and logged, and the node keeps serving an honest peer's link throughout.
#include <signal.h>

#include <gtest/gtest.h>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "host/core/crypto.h"
#include "host/core/frame.h"
#include "host/net/asio_transport.h"
#include "tests/support/process.h"
#include "tests/support/test_support.h"

namespace post {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::TempDir;

class PostdUnderAttack : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string log = dir.file("setup.log");
    ASSERT_EQ(testing::run_command({POST_CA_BIN, "init", "--dir", dir.file("ca")}, log), 0);
    ASSERT_EQ(
        testing::run_command(
            {POST_CA_BIN, "issue-node", "--ca", dir.file("ca"), "--out", dir.file("node")}, log),
        0);
    port = testing::free_port();
    std::string yaml =
        "identity:\n"
        "  key: node/node.key\n"
        "  certificate: node/node.cert\n"
        "  ca_certificate: node/ca.cert\n"
        "listen: \"127.0.0.1:" +
        std::to_string(port) +
        "\"\n"
        "data_dir: data\n"
        "log:\n"
        "  level: debug\n"
        "transport:\n"
        "  handshake_timeout: 2s\n";
    ASSERT_TRUE(write_file(dir.file("node.yaml"), yaml, false).ok());
    postd = std::make_unique<ChildProcess>(
        std::vector<std::string>{POSTD_BIN, "--config", dir.file("node.yaml")},
        dir.file("postd.log"));
    ASSERT_TRUE(postd->wait_for_output("serving on", 10s)) << postd->output();

    // An honest peer with a certificate from the same CA.
    auto ca = load_ca(dir.file("ca"));
    ASSERT_TRUE(ca.ok()) << ca.error().to_string();
    auto keys = crypto::generate_signing_key();
    auto now = wall_clock_seconds();
    auto cert = issue_node_certificate(*ca, Id::hash_of(as_bytes("honest")), keys.public_key, "",
                                       now - 60, now + 3600);
    honest_identity =
        net::LinkIdentity{*cert, keys.private_key, ca->certificate, testing::loopback_any_port()};
    honest = std::make_unique<net::AsioTransport>(io, honest_identity);
    ASSERT_TRUE(honest->start().ok());
    std::optional<Result<net::NodeHandle>> connected;
    honest->connect(net::Address::v4(0x7f000001, port),
                    [&](Result<net::NodeHandle> r) { connected = r; });
    ASSERT_TRUE(testing::run_until(io, [&] { return connected.has_value(); }));
    ASSERT_TRUE(connected->ok()) << connected->error().to_string();
    node = **connected;
  }

  void TearDown() override {
    if (postd && postd->running()) {
      postd->signal(SIGTERM);
      auto status = postd->wait(10s);
      EXPECT_EQ(status, std::optional<int>(0)) << "postd did not leave cleanly";
    }
  }

  // The honest peer's link still works: a ping over it is answered.
  void expect_still_serving() {
    std::optional<Result<net::Duration>> pong;
    honest->ping(node, [&](Result<net::Duration> r) { pong = std::move(r); });
    ASSERT_TRUE(testing::run_until(io, [&] { return pong.has_value(); }));
    EXPECT_TRUE(pong->ok()) << pong->error().to_string();
    EXPECT_TRUE(postd->running());
  }

  // Opens a raw TCP connection to postd.
  tcp::socket raw_connect() {
    tcp::socket s(raw_io);
    s.connect({asio::ip::address_v4::loopback(), port});
    return s;
  }

  // True when postd closes `s` within `timeout` (reads until EOF or error).
  static bool closed_by_peer(tcp::socket& s, std::chrono::seconds timeout) {
    ::timeval tv{static_cast<long>(timeout.count()), 0};
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::array<char, 4096> buf;
    for (;;) {
      boost::system::error_code ec;
      s.read_some(asio::buffer(buf), ec);
      if (ec == asio::error::eof || ec == asio::error::connection_reset) return true;
      if (ec) return false;  // timeout
    }
  }

  // Sends a frame body and reads one frame body back (blocking).
  static Bytes exchange(tcp::socket& s, const Bytes& body) {
    asio::write(s, asio::buffer(wire::encode_frame(body)));
    Bytes header(wire::kFrameHeaderBytes);
    asio::read(s, asio::buffer(header));
    auto length = wire::parse_frame_header(header);
    EXPECT_TRUE(length.ok());
    Bytes reply(*length);
    asio::read(s, asio::buffer(reply));
    return reply;
  }

  TempDir dir;
  unsigned short port = 0;
  std::unique_ptr<ChildProcess> postd;
  asio::io_context io;
  asio::io_context raw_io;
  net::LinkIdentity honest_identity;
  std::unique_ptr<net::AsioTransport> honest;
  net::NodeHandle node;
};

TEST_F(PostdUnderAttack, RefusesEachBadPeerAndKeepsServing) {
  expect_still_serving();

  {  // 1. garbage bytes
    auto s = raw_connect();
    Bytes garbage = crypto::random_bytes(512);
    garbage[4] = 0x77;  // not frame version 1, whatever the length says
    asio::write(s, asio::buffer(garbage));
    EXPECT_TRUE(closed_by_peer(s, 5s));
    EXPECT_TRUE(postd->wait_for_output("bad frame", 5s)) << postd->output();
  }
  expect_still_serving();

  {  // 2. a frame header announcing 64 MiB
    auto s = raw_connect();
    Bytes header = {0x04, 0x00, 0x00, 0x00, wire::kFrameVersion};
    asio::write(s, asio::buffer(header));
    EXPECT_TRUE(closed_by_peer(s, 5s));
    EXPECT_TRUE(postd->wait_for_output("frame too large", 5s)) << postd->output();
  }
  expect_still_serving();

  {  // 3. a truncated frame, then silence: the handshake deadline closes it
    auto s = raw_connect();
    Bytes partial = wire::encode_frame(Bytes(100, 0x42));
    partial.resize(30);
    asio::write(s, asio::buffer(partial));
    EXPECT_TRUE(closed_by_peer(s, 5s));
    EXPECT_TRUE(postd->wait_for_output("handshake timed out", 5s)) << postd->output();
  }
  expect_still_serving();

  {  // 4. a certificate from another CA
    testing::TestPki rogue_pki("rogue CA");
    net::AsioTransport rogue(io, rogue_pki.node(testing::loopback_any_port()));
    ASSERT_TRUE(rogue.start().ok());
    std::optional<Result<net::NodeHandle>> r;
    rogue.connect(net::Address::v4(0x7f000001, port), [&](Result<net::NodeHandle> x) { r = x; });
    ASSERT_TRUE(testing::run_until(io, [&] { return r.has_value(); }));
    EXPECT_FALSE(r->ok());
    EXPECT_TRUE(postd->wait_for_output("not signed by the configured CA", 5s)) << postd->output();
  }
  expect_still_serving();

  {  // 5. a recorded honest handshake, replayed
    Bytes hello, finish;
    {
      auto s = raw_connect();
      net::LinkIdentity me = honest_identity;
      net::LinkHandshake hs(net::LinkHandshake::Role::kInitiator, me, wall_clock_seconds());
      hello = hs.start();
      Bytes reply = exchange(s, hello);
      auto step = hs.on_frame(reply);
      ASSERT_TRUE(step.ok()) << step.error().to_string();
      finish = *step->reply;
      asio::write(s, asio::buffer(wire::encode_frame(finish)));
    }
    auto s = raw_connect();
    exchange(s, hello);  // postd answers with a fresh nonce...
    asio::write(s,
                asio::buffer(wire::encode_frame(finish)));  // ...that the old finish did not sign
    EXPECT_TRUE(closed_by_peer(s, 5s));
    EXPECT_TRUE(postd->wait_for_output("initiator's transcript signature does not verify", 5s))
        << postd->output();
  }
  expect_still_serving();
}

TEST_F(PostdUnderAttack, LeavesCleanlyOnSigterm) {
  std::vector<std::pair<net::NodeHandle, bool>> events;
  honest->set_link_observer([&](const net::NodeHandle& h, bool up) { events.emplace_back(h, up); });
  postd->signal(SIGTERM);
  EXPECT_EQ(postd->wait(10s), std::optional<int>(0));
  // The honest peer saw the link go down (postd said goodbye).
  ASSERT_TRUE(testing::run_until(io, [&] { return !events.empty(); }));
  EXPECT_FALSE(events.back().second);
  EXPECT_NE(postd->output().find("received SIGTERM, leaving"), std::string::npos);
}

}  // namespace
}  // namespace post
