// Sequence sets (RFC 3501 9, "sequence-set"): message sequence numbers or UIDs, as ranges
// that may end in "*", the largest number in use.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/email/imap/imap_result.h"

namespace post::email {

// "*" in a sequence set. 0 is never a valid message number or UID, so it cannot clash.
inline constexpr std::uint32_t kSequenceStar = 0;

// One element of a sequence set: a single number (first == last) or a range. As parsed,
// first <= last unless last is kSequenceStar ("*" always sits in `last`), so "5:2" reads
// as 2:5 and "*:4" as 4:*.
struct SequenceRange {
  std::uint32_t first = 1;
  std::uint32_t last = 1;
  bool operator==(const SequenceRange&) const = default;
};

// A sequence set in the client's order. Resolving it against the mailbox happens late,
// since "*" means the largest number at the moment the command runs.
struct SequenceSet {
  std::vector<SequenceRange> ranges;

  bool operator==(const SequenceSet&) const = default;

  // The set with "*" replaced by `largest` (the number of messages, or the highest UID; 0
  // for an empty mailbox), as ascending, disjoint, non-adjacent ranges. "5:*" with
  // largest 3 is 3:5, as RFC 3501 6.4.8 asks. Ranges are not clipped to `largest`: UIDs
  // above it are simply absent, while message numbers above it are for the caller to refuse.
  std::vector<SequenceRange> resolve(std::uint32_t largest) const;
  // Whether `number` is in the set when "*" is `largest`.
  bool contains(std::uint32_t number, std::uint32_t largest) const;
  // Whether any element uses "*".
  bool uses_star() const;
};

// Parses a whole sequence set. Refuses 0, numbers above 4294967295, leading zeros and
// empty elements (BAD "Invalid sequence set").
ImapResult<SequenceSet> parse_sequence_set(std::string_view text);

// The set in IMAP syntax: "1:3,5,7:*".
std::string format_sequence_set(const SequenceSet& set);

// The shortest set holding exactly `numbers` (any order, duplicates allowed), for
// COPYUID and APPENDUID responses (RFC 4315): {3,1,2,7} gives "1:3,7". Zeros are ignored.
SequenceSet sequence_set_from(std::span<const std::uint32_t> numbers);

}  // namespace post::email
