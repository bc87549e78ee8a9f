#include "tools/post-sim/post_scenario.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <unordered_map>

#include "host/core/crypto.h"
#include "host/core/errors.h"
#include "host/net/errors.h"

namespace post::sim {

using namespace std::chrono_literals;
using services::DeliveredNotification;
using services::OutgoingNotification;
using services::SendPath;
using services::SendResult;

// ---------------------------------------------------------------------------------------
// PostRing
// ---------------------------------------------------------------------------------------

PostRing::PostRing(PostRingConfig config)
    : config_(std::move(config)),
      ca_(create_ca("post-sim CA", config_.unix_start - 86400).value()),
      past_(config_.ring, config_.past, ca_.certificate.public_key) {}

PostRing::~PostRing() {
  for (SimNode n = 0; n < services_.size(); ++n) stop_layers(n);
}

std::int64_t PostRing::unix_now() {
  return config_.unix_start +
         static_cast<std::int64_t>(net::to_seconds(ring().network().now()));
}

JoinReport PostRing::build(const SimRing::Progress& progress) {
  JoinReport report = past_.build(progress);
  std::size_t size = ring().size();
  scribes_.resize(size);
  directories_.resize(size);
  announcers_.resize(size);
  notification_stores_.resize(size);
  services_.resize(size);
  secure_stores_.resize(size);
  for (SimNode n : ring().members()) start_layers(n);
  return report;
}

void PostRing::start_layers(SimNode n) {
  auto& net = ring().network();
  pastry::PastryNode& pastry = *ring().node(n);
  scribes_[n] = std::make_unique<scribe::ScribeNode>(pastry, net.transport(n), net.clock(n),
                                                     config_.scribe, ring().rng().next());
  directories_[n] =
      std::make_unique<services::UserDirectory>(*past_.past(n), ca_.certificate);
  announcers_[n] = std::make_unique<services::PresenceAnnouncer>(
      *scribes_[n], *directories_[n], net.clock(n), pastry.local(), config_.presence);
  if (!notification_stores_[n]) notification_stores_[n] = std::make_unique<past::MemoryBlockStore>();
  services::NotificationServiceConfig notify = config_.notify;
  notify.unix_ms_at_start = unix_now() * 1000;
  services_[n] = std::make_unique<services::NotificationService>(
      pastry, net.transport(n), net.clock(n), *scribes_[n], *directories_[n],
      *notification_stores_[n], notify, ring().rng().next());
  secure_stores_[n] =
      services::SecureStore::create(*past_.past(n), net.clock(n), {}).value();
}

void PostRing::stop_layers(SimNode n) {
  if (n >= services_.size()) return;
  secure_stores_[n].reset();
  services_[n].reset();
  announcers_[n].reset();
  directories_[n].reset();
  scribes_[n].reset();
}

bool PostRing::run_until(const std::function<bool()>& done, Duration limit, Duration step) {
  Duration waited{0};
  while (!done()) {
    if (waited >= limit) return false;
    ring().run_for(step);
    waited += step;
  }
  return true;
}

Result<SimUser> PostRing::add_user(const std::string& email, SimNode via) {
  Rng& rng = ring().rng();
  SimUser user;
  user.keys.signing_key = rng.bytes(32);
  user.keys.agreement_key = rng.bytes(32);
  POST_TRY_ASSIGN(Bytes signing_public, crypto::signing_public_key(user.keys.signing_key));
  POST_TRY_ASSIGN(Bytes agreement_public,
                        crypto::agreement_public_key(user.keys.agreement_key));
  POST_TRY_ASSIGN(user.certificate,
                        issue_user_certificate(ca_, "Sim User", email, signing_public,
                                               agreement_public, unix_now() - 3600,
                                               unix_now() + 365 * 86400));
  POST_TRY_ASSIGN(past::Block block,
                        services::make_user_certificate_block(ca_, user.certificate));
  std::optional<Status> published;
  directories_[via]->publish_certificate(block, [&](Status s) { published = std::move(s); });
  run_until([&] { return published.has_value(); }, 2min);
  if (!published) return make_error(net::NetErrc::kTimeout, "publishing " + email + "'s certificate");
  POST_TRY(*published);
  return user;
}

Status PostRing::serve(SimNode node, const SimUser& user, std::uint32_t puzzle_bits) {
  services::Identity identity;
  identity.puzzle_bits = puzzle_bits;
  services_[node]->add_user(user.keys, user.certificate, puzzle_bits);
  std::optional<Status> out;
  announcers_[node]->serve(user.keys, user.certificate, identity,
                           static_cast<std::uint64_t>(unix_now()) * 1000,
                           [&](Status s) { out = std::move(s); });
  run_until([&] { return out.has_value(); }, 2min);
  if (!out) return make_error(net::NetErrc::kTimeout, "serving " + user.email());
  return *out;
}

void PostRing::unserve(SimNode node, const SimUser& user) {
  announcers_[node]->stop(user.email());
  services_[node]->remove_user(user.email());
}

Result<SendResult> PostRing::send(SimNode from, const SimUser& sender,
                                  const std::string& recipient_email,
                                  OutgoingNotification notification) {
  std::optional<Result<SendResult>> out;
  services_[from]->send(sender.keys, sender.certificate, recipient_email, std::move(notification),
                        [&](Result<SendResult> r) { out = std::move(r); });
  run_until([&] { return out.has_value(); }, 5min);
  if (!out) return make_error(net::NetErrc::kTimeout, "no answer to a send");
  return std::move(*out);
}

void PostRing::restart_notify(SimNode node) {
  auto& net = ring().network();
  services_[node].reset();
  services::NotificationServiceConfig notify = config_.notify;
  notify.unix_ms_at_start = unix_now() * 1000;
  services_[node] = std::make_unique<services::NotificationService>(
      *ring().node(node), net.transport(node), net.clock(node), *scribes_[node],
      *directories_[node], *notification_stores_[node], notify, ring().rng().next());
}

void PostRing::crash(const std::vector<SimNode>& victims) {
  for (SimNode v : victims) {
    stop_layers(v);
    notification_stores_[v].reset();
  }
  past_.crash(victims);
}

// ---------------------------------------------------------------------------------------
// The scenario
// ---------------------------------------------------------------------------------------

namespace {


struct Message {
  std::size_t sender = 0;
  std::size_t recipient = 0;
  Bytes body;
  Time sent_at{0};
  bool send_answered = false;
  bool sent = false;
  int deliveries = 0;
  Time delivered_at{0};
  bool body_ok = false;
};

Bytes index_bytes(std::uint64_t i) {
  Bytes b(8);
  for (int k = 0; k < 8; ++k) b[k] = static_cast<std::uint8_t>(i >> (56 - 8 * k));
  return b;
}

std::optional<std::uint64_t> index_of(const Bytes& b) {
  if (b.size() != 8) return std::nullopt;
  std::uint64_t i = 0;
  for (std::uint8_t c : b) i = i << 8 | c;
  return i;
}

bool contains_marker(ByteView data) {
  auto it = std::search(data.begin(), data.end(), kPlaintextMarker.begin(), kPlaintextMarker.end(),
                        [](std::uint8_t a, char b) { return a == static_cast<std::uint8_t>(b); });
  return it != data.end();
}

}  // namespace

std::size_t count_plaintext_blocks(past::BlockStore& store) {
  std::vector<past::BlockKey> keys;
  store.for_each([&](const past::BlockKey& key, std::uint64_t) {
    keys.push_back(key);
    return true;
  });
  std::size_t found = 0;
  for (const auto& key : keys) {
    auto bytes = store.get(key);
    if (bytes.ok() && *bytes && contains_marker(**bytes)) ++found;
  }
  return found;
}

PostReport run_post_scenario(const PostScenarioOptions& options) {
  auto phase = [&](const std::string& p) {
    if (options.on_phase) options.on_phase(p);
  };
  const auto wall_start = std::chrono::steady_clock::now();
  PostReport report;
  PostRing ring(options.ring);
  ring.build(options.join_progress);
  SimRing& sim = ring.ring();
  Rng& rng = sim.rng();
  sim.run_for(20s);
  auto members = sim.members();
  report.nodes = members.size();

  phase("users");
  std::vector<SimUser> users;
  std::vector<SimNode> home;
  for (std::size_t i = 0; i < options.users; ++i) {
    SimNode n = members[rng.uniform(members.size())];
    auto user = ring.add_user("user" + std::to_string(i) + "@sim.example", n);
    if (!user.ok()) throw std::runtime_error(user.error().to_string());
    users.push_back(std::move(*user));
    home.push_back(n);
  }
  for (std::size_t i = 0; i < users.size(); ++i) {
    auto s = ring.serve(home[i], users[i]);
    if (!s.ok()) throw std::runtime_error("serving " + users[i].email() + ": " + s.error().to_string());
  }
  report.users = users.size();
  std::unordered_map<std::string, std::size_t> user_index;
  for (std::size_t i = 0; i < users.size(); ++i) user_index[users[i].email()] = i;

  std::vector<Message> messages(options.messages);
  for (SimNode n : members) {
    ring.notify(n)->set_handler([&, n](const std::string& email, const DeliveredNotification& d) {
      auto index = index_of(d.notification.app_data);
      if (!index || *index >= messages.size()) return;
      Message& m = messages[*index];
      if (user_index.at(email) != m.recipient) return;
      if (++m.deliveries > 1) return;
      m.delivered_at = sim.network().now();
      if (!d.notification.content_handle || d.notification.content_key.size() != 32) return;
      services::ContentKey key{};
      std::copy(d.notification.content_key.begin(), d.notification.content_key.end(), key.begin());
      std::size_t i = *index;
      ring.secure_store(n)->fetch(*d.notification.content_handle, key,
                                  [&messages, i](Result<Bytes> body) {
                                    if (body.ok() && *body == messages[i].body) {
                                      messages[i].body_ok = true;
                                    }
                                  });
    });
  }

  phase("offline");
  std::vector<std::size_t> order(users.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), rng);
  const auto offline_count =
      static_cast<std::size_t>(std::llround(options.offline_fraction * static_cast<double>(users.size())));
  std::set<std::size_t> offline(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(
                                                                  std::min(offline_count, order.size())));
  for (std::size_t u : offline) ring.unserve(home[u], users[u]);
  report.offline_users = offline.size();
  const Time offline_since = sim.network().now();

  phase("sending");
  std::vector<std::size_t> online_senders;
  for (std::size_t i = 0; i < users.size(); ++i) {
    if (!offline.contains(i)) online_senders.push_back(i);
  }
  if (online_senders.empty()) throw std::runtime_error("no user is online to send");
  for (std::size_t i = 0; i < messages.size(); ++i) {
    Message& m = messages[i];
    m.sender = online_senders[rng.uniform(online_senders.size())];
    do {
      m.recipient = rng.uniform(users.size());
    } while (m.recipient == m.sender && users.size() > 1);
    std::string text = std::string(kPlaintextMarker) + " message " + std::to_string(i) + " from " +
                       users[m.sender].email() + " to " + users[m.recipient].email() + "\n";
    m.body = to_bytes(text);
    Bytes filler = rng.bytes(options.body_bytes > text.size() ? options.body_bytes - text.size() : 0);
    m.body.insert(m.body.end(), filler.begin(), filler.end());
    SimNode from = home[m.sender];
    ring.secure_store(from)->store(
        m.body, {}, [&ring, &messages, &users, &sim, &report, i, from](Result<services::StoredObject> stored) {
          Message& msg = messages[i];
          if (!stored.ok()) {
            msg.send_answered = true;
            ++report.send_failures;
            if (report.first_send_error.empty()) report.first_send_error = stored.error().to_string();
            return;
          }
          OutgoingNotification n;
          n.application = "epost";
          n.app_data = index_bytes(i);
          n.content_handle = stored->handle;
          n.content_key.assign(stored->key.begin(), stored->key.end());
          msg.sent_at = sim.network().now();
          ring.notify(from)->send(users[msg.sender].keys, users[msg.sender].certificate,
                                  users[msg.recipient].email(), std::move(n),
                                  [&messages, &report, i](Result<SendResult> r) {
                                    Message& mm = messages[i];
                                    mm.send_answered = true;
                                    if (!r.ok()) {
                                      ++report.send_failures;
                                      if (report.first_send_error.empty()) {
                                        report.first_send_error = r.error().to_string();
                                      }
                                      return;
                                    }
                                    mm.sent = true;
                                    ++report.sent;
                                    if (r->path == SendPath::kDirect) {
                                      ++report.sent_direct;
                                    } else {
                                      ++report.sent_delegated;
                                    }
                                  });
        });
    sim.run_for(50ms);
  }
  ring.run_until(
      [&] {
        return std::all_of(messages.begin(), messages.end(),
                           [](const Message& m) { return m.send_answered; });
      },
      10min, 1s);

  // The offline users come back once their time is up.
  Duration away = sim.network().now() - offline_since;
  if (away < options.offline) sim.run_for(options.offline - away);
  phase("returning");
  std::vector<Time> returned_at(users.size(), Time{0});
  for (std::size_t u : offline) {
    returned_at[u] = sim.network().now();  // each comes back when its node starts serving it
    auto s = ring.serve(home[u], users[u]);
    if (!s.ok()) throw std::runtime_error("serving " + users[u].email() + " again: " + s.error().to_string());
  }

  phase("draining");
  ring.run_until(
      [&] {
        return std::all_of(messages.begin(), messages.end(), [](const Message& m) {
          return !m.sent || (m.deliveries > 0 && m.body_ok);
        });
      },
      options.drain, 1s);
  sim.run_for(10s);  // late duplicates would show up here

  double online_sum = 0, offline_sum = 0;
  std::size_t online_n = 0, offline_n = 0;
  for (const Message& m : messages) {
    if (m.deliveries > 0) {
      ++report.delivered;
      if (m.body_ok) ++report.bodies_fetched;
      report.duplicates_to_app += static_cast<std::size_t>(m.deliveries - 1);
      if (offline.contains(m.recipient)) {
        offline_sum +=
            net::to_seconds(m.delivered_at - std::max(returned_at[m.recipient], m.sent_at));
        ++offline_n;
      } else {
        online_sum += net::to_seconds(m.delivered_at - m.sent_at);
        ++online_n;
      }
    } else if (m.sent) {
      ++report.lost;
    }
  }
  report.messages = messages.size();
  report.mean_delivery_seconds_online = online_n ? online_sum / static_cast<double>(online_n) : 0;
  report.mean_delivery_seconds_offline =
      offline_n ? offline_sum / static_cast<double>(offline_n) : 0;

  phase("scanning");
  for (SimNode n : sim.members()) {
    report.plaintext_blocks_found += count_plaintext_blocks(*ring.past_ring().store(n));
    report.plaintext_blocks_found += count_plaintext_blocks(*ring.notification_store(n));
    report.held_at_end += ring.notify(n)->held_count();
  }
  report.virtual_seconds = net::to_seconds(sim.network().now());
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  return report;
}

}  // namespace post::sim
