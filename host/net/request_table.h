// RequestTable: the requests a protocol node sent that expect one answer each, by request id.
// Each ends exactly once: with its answer, or with nullptr when it timed out or the link to the
// node asked broke. Sans-I/O over a Clock; single-threaded, like the nodes that use it (PAST,
// the notification service).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "host/net/clock.h"
#include "host/net/transport.h"

namespace post::net {

template <class Message>
class RequestTable {
 public:
  // Gets the answer, or nullptr for no answer (timeout, link down, table destroyed: no call).
  using OnAnswer = std::function<void(const Message*)>;

  // Ids start at `first_id` (a random start keeps a restarted node's ids apart from the ones
  // its peers may still answer).
  RequestTable(Clock& clock, std::uint64_t first_id) : clock_(clock), next_id_(first_id) {}
  ~RequestTable() {
    for (auto& [id, r] : pending_) clock_.cancel(r.timer);
  }
  RequestTable(const RequestTable&) = delete;
  RequestTable& operator=(const RequestTable&) = delete;

  // A new request to `to` (nullopt: a routed request, answered by whichever node is the root)
  // that ends after `timeout`. Returns its id, for the message.
  std::uint64_t expect(std::optional<NodeHandle> to, Duration timeout, OnAnswer on_answer) {
    std::uint64_t id = next_id_++;
    Pending& p = pending_[id];
    p.to = std::move(to);
    p.on_answer = std::move(on_answer);
    p.timer = clock_.schedule(timeout, [this, id] { finish(id, nullptr); });
    return id;
  }

  enum class Outcome {
    kAnswered,     // the request's callback ran
    kUnknown,      // no such request (late, after its timeout): ignore
    kWrongSender,  // it went to another node: refuse the message
  };
  Outcome answer(const NodeHandle& from, std::uint64_t id, const Message& m) {
    auto it = pending_.find(id);
    if (it == pending_.end()) return Outcome::kUnknown;
    if (it->second.to && it->second.to->id != from.id) return Outcome::kWrongSender;
    finish(id, &m);
    return Outcome::kAnswered;
  }

  // Every request to `peer` ends now without an answer (its link broke).
  void fail_to(const NodeHandle& peer) {
    std::vector<std::uint64_t> lost;
    for (const auto& [id, r] : pending_) {
      if (r.to && r.to->id == peer.id) lost.push_back(id);
    }
    for (std::uint64_t id : lost) finish(id, nullptr);
  }

  std::size_t size() const { return pending_.size(); }

 private:
  struct Pending {
    std::optional<NodeHandle> to;
    OnAnswer on_answer;
    TimerId timer = kNoTimer;
  };

  void finish(std::uint64_t id, const Message* m) {
    auto it = pending_.find(id);
    if (it == pending_.end()) return;
    Pending p = std::move(it->second);
    pending_.erase(it);
    clock_.cancel(p.timer);
    p.on_answer(m);
  }

  Clock& clock_;
  std::uint64_t next_id_;
  std::unordered_map<std::uint64_t, Pending> pending_;
};

}  // namespace post::net
