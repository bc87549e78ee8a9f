// EventQueue: the simulator's agenda, a 4-ary min-heap of small POD entries ordered by
// (time, sequence number). The sequence number is global and increasing, so entries due at
// the same time come out in the order they were pushed: the simulation's determinism rests on
// this order. Entries only name a slot; what happens there lives in the caller's slab.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace post::net {

class EventQueue {
 public:
  struct Entry {
    std::int64_t time;   // nanoseconds of virtual time
    std::uint64_t seq;   // global insertion order
    std::uint32_t slot;  // the caller's event body
  };

  bool empty() const { return heap_.empty(); }
  std::size_t size() const { return heap_.size(); }
  // The earliest entry; only valid when !empty().
  const Entry& top() const { return heap_.front(); }

  // Adds an event body `slot` due at `time`, after every entry already due at `time`.
  void push(std::int64_t time, std::uint32_t slot) {
    Entry entry{time, next_seq_++, slot};
    std::size_t i = heap_.size();
    heap_.push_back(entry);
    while (i > 0) {
      std::size_t parent = (i - 1) / kArity;
      if (!earlier(entry, heap_[parent])) break;
      heap_[i] = heap_[parent];
      i = parent;
    }
    heap_[i] = entry;
  }

  // Removes and returns the earliest entry; only valid when !empty().
  Entry pop() {
    Entry top = heap_.front();
    Entry last = heap_.back();
    heap_.pop_back();
    if (!heap_.empty()) sift_down(0, last);
    return top;
  }

  // Removes every entry for which `dead(slot)` is true, calling `dead` once per entry, and
  // restores the heap in O(n). The order of the remaining entries is unchanged.
  template <class Predicate>
  void remove_if(Predicate dead) {
    std::size_t kept = 0;
    for (const Entry& e : heap_) {
      if (!dead(e.slot)) heap_[kept++] = e;
    }
    heap_.resize(kept);
    if (heap_.size() < 2) return;
    for (std::size_t i = (heap_.size() - 2) / kArity + 1; i-- > 0;) sift_down(i, heap_[i]);
  }

 private:
  static constexpr std::size_t kArity = 4;

  static bool earlier(const Entry& a, const Entry& b) {
    return a.time < b.time || (a.time == b.time && a.seq < b.seq);
  }

  void sift_down(std::size_t i, Entry entry) {
    const std::size_t n = heap_.size();
    for (;;) {
      std::size_t first = kArity * i + 1;
      if (first >= n) break;
      std::size_t end = first + kArity < n ? first + kArity : n;
      std::size_t best = first;
      for (std::size_t c = first + 1; c < end; ++c) {
        if (earlier(heap_[c], heap_[best])) best = c;
      }
      if (!earlier(heap_[best], entry)) break;
      heap_[i] = heap_[best];
      i = best;
    }
    heap_[i] = entry;
  }

  std::vector<Entry> heap_;
  std::uint64_t next_seq_ = 0;
};

}  // namespace post::net
