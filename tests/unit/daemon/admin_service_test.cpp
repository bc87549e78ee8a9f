// AdminService on a real two-node ring over loopback TCP: each answer reports what the
// node's Pastry state and transport hold, lookups route through the overlay, and a bad key
// gets an Error naming it.
#include "host/daemon/admin_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>

#include "host/net/asio_clock.h"
#include "tests/support/test_support.h"

namespace post::daemon {
namespace {

namespace admin = proto::admin;
using namespace std::chrono_literals;
using ::testing::HasSubstr;

struct TestNode {
  std::unique_ptr<net::AsioTransport> transport;
  std::unique_ptr<pastry::PastryNode> pastry;
  std::unique_ptr<past::MemoryBlockStore> store;
  std::unique_ptr<past::PastNode> past;
  std::unique_ptr<scribe::ScribeNode> scribe;
};

// Two nodes: each block on both.
past::PastConfig two_replicas() {
  past::PastConfig c;
  c.replicas = 2;
  return c;
}

std::string bytes_of(const Id& id) {
  return to_string(id.view());
}

class AdminServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    first = make_node(1);
    second = make_node(2);
    first.pastry->start_new_ring();
    bool joined = false;
    second.pastry->join({first.transport->local().address}, [&](Status s) {
      ASSERT_TRUE(s.ok()) << s.error().to_string();
      joined = true;
    });
    ASSERT_TRUE(testing::run_until(io, [&] {
      return joined && first.pastry->leaf_set().size() == 1 &&
             second.pastry->leaf_set().size() == 1;
    }));
    service.emplace(*second.pastry, *second.past, *second.store, *second.scribe,
                    *second.transport, clock,
                    AdminServiceInfo{"postd test", "acme", clock.now() - 5s});
  }

  TestNode make_node(std::uint64_t seed) {
    TestNode n;
    n.transport = std::make_unique<net::AsioTransport>(io, pki.node(testing::loopback_any_port()));
    auto s = n.transport->start();
    EXPECT_TRUE(s.ok()) << s.error().to_string();
    n.pastry =
        std::make_unique<pastry::PastryNode>(*n.transport, clock, pastry::PastryConfig{}, seed);
    n.store = std::make_unique<past::MemoryBlockStore>();
    n.past = std::make_unique<past::PastNode>(*n.pastry, *n.transport, clock, *n.store,
                                              two_replicas(), Bytes{}, seed);
    n.scribe = std::make_unique<scribe::ScribeNode>(*n.pastry, *n.transport, clock,
                                                    scribe::ScribeConfig{}, seed);
    return n;
  }

  // Asks the service and runs the node until it answers.
  admin::AdminResponse ask(const admin::AdminRequest& request) {
    std::optional<admin::AdminResponse> answer;
    service->handle(request, [&](admin::AdminResponse r) { answer = std::move(r); });
    EXPECT_TRUE(testing::run_until(io, [&] { return answer.has_value(); }));
    return answer.value_or(admin::AdminResponse());
  }

  admin::AdminResponse lookup_hex(const std::string& hex) {
    admin::AdminRequest r;
    r.mutable_lookup()->set_hex(hex);
    return ask(r);
  }

  boost::asio::io_context io;
  net::AsioClock clock{io};
  testing::TestPki pki;
  TestNode first;
  TestNode second;
  std::optional<AdminService> service;
};

TEST_F(AdminServiceTest, StatusReportsTheNodeItsTablesAndCounters) {
  admin::AdminRequest r;
  r.mutable_status();
  auto answer = ask(r);
  ASSERT_TRUE(answer.has_status());
  const auto& s = answer.status();
  EXPECT_EQ(s.self().id(), bytes_of(second.transport->local().id));
  EXPECT_EQ(s.self().address(), second.transport->local().address.to_string());
  EXPECT_EQ(s.ring(), "acme");
  EXPECT_EQ(s.version(), "postd test");
  EXPECT_EQ(s.state(), admin::JOIN_STATE_READY);
  EXPECT_GE(s.uptime_ms(), 5000u);
  EXPECT_EQ(s.leaf_set_size(), 1u);
  EXPECT_EQ(s.leaf_set_capacity(), 24u);
  EXPECT_EQ(s.digit_bits(), 4u);
  EXPECT_EQ(s.routing_max_rows(), 64u);
  EXPECT_EQ(s.routing_entries(), second.pastry->routing_table().size());
  EXPECT_EQ(s.links(), second.transport->links().size());
  EXPECT_GE(s.links(), 1u);
  EXPECT_EQ(s.failed_nodes(), 0u);
  EXPECT_GE(s.transport().links_dialled(), 1u);
  EXPECT_EQ(s.pastry().forwarded(), second.pastry->stats().forwarded);
}

TEST_F(AdminServiceTest, LeafSetListsTheOtherNodeInRingOrderWithItsRtt) {
  admin::AdminRequest r;
  r.mutable_leaf_set();
  auto answer = ask(r);
  ASSERT_TRUE(answer.has_leaf_set());
  const auto& l = answer.leaf_set();
  EXPECT_EQ(l.size(), 1u);
  EXPECT_EQ(l.capacity(), 24u);
  ASSERT_GE(l.members_size(), 1);
  bool seen_cw = false;
  for (const auto& m : l.members()) {
    EXPECT_EQ(m.node().id(), bytes_of(first.transport->local().id));
    EXPECT_EQ(m.node().address(), first.transport->local().address.to_string());
    EXPECT_EQ(m.position(), 1u);
    EXPECT_TRUE(m.has_rtt_ns());
    // Counter-clockwise members come first.
    if (m.side() == admin::SIDE_CLOCKWISE) seen_cw = true;
    if (seen_cw) {
      EXPECT_EQ(m.side(), admin::SIDE_CLOCKWISE);
    }
  }
}

TEST_F(AdminServiceTest, RoutesListTheFilledSlots) {
  admin::AdminRequest r;
  r.mutable_routes();
  auto answer = ask(r);
  ASSERT_TRUE(answer.has_routes());
  const auto& t = answer.routes();
  EXPECT_EQ(t.digit_bits(), 4u);
  EXPECT_EQ(static_cast<std::size_t>(t.entries_size()), second.pastry->routing_table().size());
  for (const auto& e : t.entries()) {
    auto id = Id::from_bytes(as_bytes(e.node().id()));
    ASSERT_TRUE(id.ok());
    auto slot = second.pastry->routing_table().slot_of(*id);
    ASSERT_TRUE(slot);
    EXPECT_EQ(e.row(), static_cast<std::uint32_t>(slot->first));
    EXPECT_EQ(e.column(), static_cast<std::uint32_t>(slot->second));
  }
}

TEST_F(AdminServiceTest, PeersListTheTransportsLinks) {
  admin::AdminRequest r;
  r.mutable_peers();
  auto answer = ask(r);
  ASSERT_TRUE(answer.has_peers());
  const auto& p = answer.peers();
  ASSERT_EQ(static_cast<std::size_t>(p.links_size()), second.transport->links().size());
  bool found = false;
  for (const auto& link : p.links()) {
    if (link.peer().id() != bytes_of(first.transport->local().id)) continue;
    found = true;
    EXPECT_GT(link.frames_in(), 0u);
    EXPECT_GT(link.frames_out(), 0u);
  }
  EXPECT_TRUE(found);
}

TEST_F(AdminServiceTest, LookupFindsTheRootOfAKeyAndThePathToIt) {
  const Id& far = first.transport->local().id;
  auto answer = lookup_hex(far.to_hex());
  ASSERT_TRUE(answer.has_lookup()) << answer.error().message();
  const auto& l = answer.lookup();
  EXPECT_EQ(l.key(), bytes_of(far));
  EXPECT_EQ(l.root().id(), bytes_of(far));
  EXPECT_EQ(l.hops(), 1u);
  ASSERT_EQ(l.path_size(), 2);
  EXPECT_EQ(l.path(0).id(), bytes_of(second.transport->local().id));
  EXPECT_EQ(l.path(1).id(), bytes_of(far));

  admin::AdminRequest by_id;
  by_id.mutable_lookup()->set_id(bytes_of(second.transport->local().id));
  auto own = ask(by_id);
  ASSERT_TRUE(own.has_lookup()) << own.error().message();
  EXPECT_EQ(own.lookup().root().id(), bytes_of(second.transport->local().id));
  EXPECT_EQ(own.lookup().hops(), 0u);
}

TEST_F(AdminServiceTest, ABadLookupKeyGetsAnErrorNamingIt) {
  auto answer = lookup_hex("xyz");
  ASSERT_TRUE(answer.has_error());
  EXPECT_THAT(answer.error().message(), HasSubstr("lookup key 'xyz' is not a key"));
}

TEST_F(AdminServiceTest, PutStoresABlockOnBothNodesAndGetReadsItBack) {
  admin::AdminRequest put;
  put.mutable_put()->set_content("a block through the admin endpoint");
  auto stored = ask(put);
  ASSERT_TRUE(stored.has_put()) << stored.error().message();
  Id handle = past::content_handle(as_bytes("a block through the admin endpoint"));
  EXPECT_EQ(stored.put().handle(), bytes_of(handle));
  EXPECT_EQ(stored.put().stored_on_size(), 2);
  EXPECT_TRUE(first.store->contains(past::BlockKey{handle}));
  EXPECT_TRUE(second.store->contains(past::BlockKey{handle}));

  admin::AdminRequest get;
  get.mutable_get()->set_hex(handle.to_hex());
  auto read = ask(get);
  ASSERT_TRUE(read.has_get()) << read.error().message();
  EXPECT_EQ(read.get().payload(), "a block through the admin endpoint");
  EXPECT_EQ(read.get().kind(), "content-hash");

  admin::AdminRequest status;
  status.mutable_status();
  auto s = ask(status);
  EXPECT_EQ(s.status().past().blocks(), 1u);
  EXPECT_EQ(s.status().past().replicas(), 2u);
  EXPECT_EQ(s.status().past().inserts(), 1u);
}

TEST_F(AdminServiceTest, GetOfAnUnknownOrMalformedHandleGetsAnErrorSayingWhy) {
  admin::AdminRequest get;
  get.mutable_get()->set_hex(Id::hash_of(as_bytes("nothing")).to_hex());
  auto missing = ask(get);
  ASSERT_TRUE(missing.has_error());
  EXPECT_THAT(missing.error().message(), HasSubstr("no replica holds"));
  get.mutable_get()->set_hex("12ab");
  auto bad = ask(get);
  ASSERT_TRUE(bad.has_error());
  EXPECT_THAT(bad.error().message(), HasSubstr("block handle '12ab' is not a key"));
}

TEST_F(AdminServiceTest, APutLargerThanABlockIsRefused) {
  admin::AdminRequest put;
  put.mutable_put()->set_content(std::string(past::kMaxPayloadBytes + 1, 'x'));
  auto answer = ask(put);
  ASSERT_TRUE(answer.has_error());
  EXPECT_THAT(answer.error().message(), HasSubstr("one block holds at most"));
}

admin::AdminRequest group_request(const std::string& name) {
  admin::AdminRequest r;
  r.mutable_subscribe()->mutable_group()->set_name(name);
  return r;
}

TEST_F(AdminServiceTest, ASubscribedEndpointReceivesWhatIsPublishedAndListsTheGroup) {
  auto subscribed = ask(group_request("news"));
  ASSERT_TRUE(subscribed.has_subscribe()) << subscribed.DebugString();
  const Id group = Id::hash_of(as_bytes(std::string("news")));
  EXPECT_EQ(subscribed.subscribe().group(), bytes_of(group));

  // Published through the other node: it routes to the root, which sends it down the tree.
  first.scribe->publish(group, Bytes{'h', 'i'});
  admin::AdminRequest received;
  received.mutable_received()->mutable_group()->set_hex(group.to_hex());
  ASSERT_TRUE(testing::run_until(io, [&] {
    return ask(received).received().messages_size() == 1;
  }));
  auto got = ask(received).received();
  EXPECT_EQ(got.messages(0).payload(), "hi");
  EXPECT_EQ(got.messages(0).index(), 1u);
  EXPECT_EQ(got.last_index(), 1u);
  received.mutable_received()->set_after(1);
  EXPECT_EQ(ask(received).received().messages_size(), 0);

  admin::AdminRequest publish;
  publish.mutable_publish()->mutable_group()->set_name("news");
  publish.mutable_publish()->set_payload("from the endpoint");
  ASSERT_TRUE(ask(publish).has_publish());
  ASSERT_TRUE(testing::run_until(io, [&] { return ask(received).received().messages_size() == 1; }));
  EXPECT_EQ(ask(received).received().messages(0).payload(), "from the endpoint");

  admin::AdminRequest groups;
  groups.mutable_groups();
  auto listed = ask(groups).groups();
  ASSERT_EQ(listed.groups_size(), 1);
  EXPECT_EQ(listed.groups(0).group(), bytes_of(group));
  EXPECT_EQ(listed.groups(0).name(), "news");
  EXPECT_TRUE(listed.groups(0).member());

  auto status = ask([] {
    admin::AdminRequest r;
    r.mutable_status();
    return r;
  }());
  EXPECT_EQ(status.status().scribe().memberships(), 1u);
  EXPECT_EQ(status.status().scribe().delivered(), 2u);

  admin::AdminRequest unsubscribe;
  unsubscribe.mutable_unsubscribe()->mutable_group()->set_name("news");
  EXPECT_TRUE(ask(unsubscribe).has_unsubscribe());
  auto after = ask(received);
  ASSERT_TRUE(after.has_error());
  EXPECT_THAT(after.error().message(), HasSubstr("not subscribed"));
}

TEST_F(AdminServiceTest, BadGroupRequestsGetAnErrorSayingWhy) {
  auto empty = ask(group_request(""));
  ASSERT_TRUE(empty.has_error());
  EXPECT_THAT(empty.error().message(), HasSubstr("empty"));

  admin::AdminRequest bad_hex;
  bad_hex.mutable_subscribe()->mutable_group()->set_hex("xyz");
  auto answer = ask(bad_hex);
  ASSERT_TRUE(answer.has_error());
  EXPECT_THAT(answer.error().message(), HasSubstr("expected 64 hex characters"));

  admin::AdminRequest unsubscribe;
  unsubscribe.mutable_unsubscribe()->mutable_group()->set_name("never");
  answer = ask(unsubscribe);
  ASSERT_TRUE(answer.has_error());
  EXPECT_THAT(answer.error().message(), HasSubstr("not subscribed to group 'never'"));

  admin::AdminRequest big;
  big.mutable_publish()->mutable_group()->set_name("news");
  big.mutable_publish()->set_payload(std::string(scribe::kMaxPayloadBytes + 1, 'x'));
  answer = ask(big);
  ASSERT_TRUE(answer.has_error());
  EXPECT_THAT(answer.error().message(), HasSubstr("at most"));
}

TEST_F(AdminServiceTest, APluginCommandWithoutAPluginHostGetsAnErrorSayingSo) {
  admin::AdminRequest r;
  r.mutable_plugin_command()->set_name("svc");
  r.mutable_plugin_command()->add_args("echo");
  auto answer = ask(r);
  ASSERT_TRUE(answer.has_error());
  EXPECT_THAT(answer.error().message(), HasSubstr("this node runs no plugin host"));
}

}  // namespace
}  // namespace post::daemon
