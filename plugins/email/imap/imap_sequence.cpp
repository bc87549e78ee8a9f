#include "plugins/email/imap/imap_sequence.h"

#include <algorithm>

#include "plugins/email/imap/imap_lexer.h"

namespace post::email {

std::vector<SequenceRange> SequenceSet::resolve(std::uint32_t largest) const {
  std::vector<SequenceRange> out;
  out.reserve(ranges.size());
  for (SequenceRange r : ranges) {
    if (r.first == kSequenceStar) r.first = largest;
    if (r.last == kSequenceStar) r.last = largest;
    if (r.first > r.last) std::swap(r.first, r.last);
    if (r.last == 0) continue;  // "*" in an empty mailbox
    if (r.first == 0) r.first = 1;
    out.push_back(r);
  }
  std::sort(out.begin(), out.end(),
            [](const SequenceRange& a, const SequenceRange& b) { return a.first < b.first; });
  std::vector<SequenceRange> merged;
  for (const SequenceRange& r : out) {
    if (!merged.empty() &&
        (merged.back().last == UINT32_MAX || r.first <= merged.back().last + 1)) {
      merged.back().last = std::max(merged.back().last, r.last);
    } else {
      merged.push_back(r);
    }
  }
  return merged;
}

bool SequenceSet::contains(std::uint32_t number, std::uint32_t largest) const {
  if (number == 0) return false;
  for (SequenceRange r : ranges) {
    if (r.first == kSequenceStar) r.first = largest;
    if (r.last == kSequenceStar) r.last = largest;
    if (r.first > r.last) std::swap(r.first, r.last);
    if (number >= r.first && number <= r.last) return true;
  }
  return false;
}

bool SequenceSet::uses_star() const {
  return std::any_of(ranges.begin(), ranges.end(), [](const SequenceRange& r) {
    return r.first == kSequenceStar || r.last == kSequenceStar;
  });
}

ImapResult<SequenceSet> parse_sequence_set(std::string_view text) {
  ImapLexer lexer(text, "");
  IMAP_TRY_ASSIGN(SequenceSet set, lexer.parse_sequence_set("sequence set"));
  if (!lexer.at_end()) return lexer.error("Invalid sequence set");
  return set;
}

namespace {

void append_number(std::string& out, std::uint32_t n) {
  if (n == kSequenceStar) {
    out += '*';
  } else {
    out += std::to_string(n);
  }
}

}  // namespace

std::string format_sequence_set(const SequenceSet& set) {
  std::string out;
  for (const SequenceRange& r : set.ranges) {
    if (!out.empty()) out += ',';
    append_number(out, r.first);
    if (r.first != r.last) {
      out += ':';
      append_number(out, r.last);
    }
  }
  return out;
}

SequenceSet sequence_set_from(std::span<const std::uint32_t> numbers) {
  std::vector<std::uint32_t> sorted(numbers.begin(), numbers.end());
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  SequenceSet set;
  for (std::uint32_t n : sorted) {
    if (n == 0) continue;
    if (!set.ranges.empty() && set.ranges.back().last + 1 == n) {
      set.ranges.back().last = n;
    } else {
      set.ranges.push_back(SequenceRange{n, n});
    }
  }
  return set;
}

}  // namespace post::email
