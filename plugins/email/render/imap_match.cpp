#include "plugins/email/render/imap_match.h"

#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <vector>

#include "plugins/email/imap/imap_date.h"
#include "plugins/email/render/mail_text.h"

namespace post::email {
namespace {

constexpr std::int64_t kSecondsPerDay = 86400;

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// Whether `haystack` contains `needle` ignoring ASCII case; `needle_lower` is already folded.
bool contains_folded(std::string_view haystack, std::string_view needle_lower) {
  if (needle_lower.empty()) return true;
  if (haystack.size() < needle_lower.size()) return false;
  return to_ascii_lower(haystack).find(needle_lower) != std::string::npos;
}

bool has_keyword(const store::Flags& flags, std::string_view keyword) {
  return std::any_of(flags.keywords.begin(), flags.keywords.end(),
                     [&](const std::string& k) { return iequals(k, keyword); });
}

// The value of a header field, unfolded and with its encoded-words decoded.
std::string decoded_value(const HeaderField& field) {
  return decode_header_words(unfold_header_value(field.value));
}

// Whether a field named `name` in `header_block` has `needle_lower` in its decoded value.
bool header_field_contains(std::string_view header_block, std::string_view name,
                           std::string_view needle_lower) {
  for (const HeaderField& field : split_header_fields(header_block)) {
    if (iequals(field.name, name) && contains_folded(decoded_value(field), needle_lower)) {
      return true;
    }
  }
  return false;
}

// Whether any field of `header_block` holds `needle_lower`, in the raw block or in
// "name: decoded value".
bool any_header_contains(std::string_view header_block, std::string_view needle_lower) {
  if (contains_folded(header_block, needle_lower)) return true;
  for (const HeaderField& field : split_header_fields(header_block)) {
    std::string text(field.name);
    text += ": ";
    text += decoded_value(field);
    if (contains_folded(text, needle_lower)) return true;
  }
  return false;
}

bool addresses_contain(const std::vector<MailAddress>& list, std::string_view needle_lower) {
  return std::any_of(list.begin(), list.end(), [&](const MailAddress& a) {
    return contains_folded(a.name, needle_lower) || contains_folded(a.address, needle_lower);
  });
}

std::string_view charset_of(const MimePart& part) {
  for (const MimeParameter& parameter : part.parameters) {
    if (iequals(parameter.name, "charset")) return parameter.value;
  }
  return {};
}

// Whether the body text under `part` (see the file comment of imap_match.h) holds the needle.
bool body_contains(const MimePart& part, std::span<const std::string_view> bodies,
                   std::string_view needle_lower) {
  switch (part.kind) {
    case MimePartKind::kLeaf: {
      if (part.type != "text" || part.body_index >= bodies.size()) return false;
      const std::string_view body = bodies[part.body_index];
      if (body.size() != part.body_size) return false;
      return contains_folded(
          to_utf8(decode_transfer_encoding(body, part.encoding), charset_of(part)), needle_lower);
    }
    case MimePartKind::kMessage:
      return std::any_of(part.children.begin(), part.children.end(), [&](const MimePart& child) {
        return any_header_contains(child.header, needle_lower) ||
               body_contains(child, bodies, needle_lower);
      });
    case MimePartKind::kMultipart:
      return std::any_of(part.children.begin(), part.children.end(), [&](const MimePart& child) {
        return body_contains(child, bodies, needle_lower);
      });
  }
  return false;
}

bool text_contains(const MatchContext& context, std::string_view needle_lower) {
  if (context.layout == nullptr) return false;
  return body_contains(context.layout->root, context.bodies, needle_lower);
}

// The day written in a Date header value ("Tue, 1 Jul 2003 10:52:37 +0200"), as days since
// the epoch, ignoring time and zone; nullopt when it does not parse.
std::optional<std::int64_t> written_day(std::string_view value) {
  static constexpr std::array<std::string_view, 12> kMonths = {
      "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
  if (const std::size_t comma = value.find(','); comma != std::string_view::npos) {
    value.remove_prefix(comma + 1);
  }
  std::vector<std::string_view> tokens;
  while (tokens.size() < 3) {
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    if (value.empty()) break;
    std::size_t end = 0;
    while (end < value.size() && value[end] != ' ' && value[end] != '\t') ++end;
    tokens.push_back(value.substr(0, end));
    value.remove_prefix(end);
  }
  if (tokens.size() < 3) return std::nullopt;
  const auto number = [](std::string_view digits, std::size_t max_digits) -> std::optional<int> {
    if (digits.empty() || digits.size() > max_digits) return std::nullopt;
    int n = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return std::nullopt;
      n = n * 10 + (c - '0');
    }
    return n;
  };
  const std::optional<int> day = number(tokens[0], 2);
  std::optional<int> year = number(tokens[2], 4);
  const auto month_at = std::find_if(kMonths.begin(), kMonths.end(),
                                     [&](std::string_view m) { return iequals(m, tokens[1]); });
  if (!day || !year || month_at == kMonths.end()) return std::nullopt;
  if (tokens[2].size() == 2) {
    *year += *year < 50 ? 2000 : 1900;  // RFC 5322 4.3
  } else if (tokens[2].size() == 3) {
    *year += 1900;
  }
  const int month = static_cast<int>(month_at - kMonths.begin()) + 1;
  if (!is_valid_date(*year, month, *day)) return std::nullopt;
  return ImapDate{*year, month, *day}.days_since_epoch();
}

std::optional<std::int64_t> sent_day(const MatchContext& context) {
  for (const HeaderField& field : split_header_fields(context.header_block)) {
    if (iequals(field.name, "Date")) {
      if (std::optional<std::int64_t> day = written_day(unfold_header_value(field.value)); day) {
        return day;
      }
      break;
    }
  }
  if (context.layout != nullptr && context.layout->envelope.date_unix) {
    return floor_div(*context.layout->envelope.date_unix, kSecondsPerDay);
  }
  return std::nullopt;
}

// A header key: the field name it reads and the envelope list (or subject) it may also read.
bool header_key_matches(const SearchKey& key, std::string_view field, const MatchContext& context) {
  const std::string needle = to_ascii_lower(key.value);
  if (header_field_contains(context.header_block, field, needle)) return true;
  if (context.layout == nullptr) return false;
  const Envelope& envelope = context.layout->envelope;
  switch (key.kind) {
    case SearchKeyKind::kFrom: return addresses_contain(envelope.from, needle);
    case SearchKeyKind::kTo: return addresses_contain(envelope.to, needle);
    case SearchKeyKind::kCc: return addresses_contain(envelope.cc, needle);
    case SearchKeyKind::kBcc: return addresses_contain(envelope.bcc, needle);
    case SearchKeyKind::kSubject:
      return !envelope.subject.empty() && contains_folded(envelope.subject, needle);
    default: return false;
  }
}

SearchNeeds needs_of_kind(SearchKeyKind kind) {
  switch (kind) {
    case SearchKeyKind::kBody:
    case SearchKeyKind::kText: return SearchNeeds::kText;
    case SearchKeyKind::kBcc:
    case SearchKeyKind::kCc:
    case SearchKeyKind::kFrom:
    case SearchKeyKind::kSubject:
    case SearchKeyKind::kTo:
    case SearchKeyKind::kHeader:
    case SearchKeyKind::kSentBefore:
    case SearchKeyKind::kSentOn:
    case SearchKeyKind::kSentSince: return SearchNeeds::kHeader;
    default: return SearchNeeds::kFlagsOnly;
  }
}

}  // namespace

SearchNeeds search_needs(const SearchKey& key) {
  SearchNeeds needs = needs_of_kind(key.kind);
  for (const SearchKey& child : key.children) needs = std::max(needs, search_needs(child));
  return needs;
}

bool matches(const SearchKey& key, const MatchContext& context) {
  const store::Flags& flags = context.flags;
  switch (key.kind) {
    case SearchKeyKind::kAnd:
      return std::all_of(key.children.begin(), key.children.end(),
                         [&](const SearchKey& child) { return matches(child, context); });
    case SearchKeyKind::kOr:
      return std::any_of(key.children.begin(), key.children.end(),
                         [&](const SearchKey& child) { return matches(child, context); });
    case SearchKeyKind::kNot:
      return !key.children.empty() && !matches(key.children.front(), context);
    case SearchKeyKind::kAll: return true;
    case SearchKeyKind::kAnswered: return flags.has(store::kAnswered);
    case SearchKeyKind::kDeleted: return flags.has(store::kDeleted);
    case SearchKeyKind::kDraft: return flags.has(store::kDraft);
    case SearchKeyKind::kFlagged: return flags.has(store::kFlagged);
    case SearchKeyKind::kNew: return context.recent && !flags.has(store::kSeen);
    case SearchKeyKind::kOld: return !context.recent;
    case SearchKeyKind::kRecent: return context.recent;
    case SearchKeyKind::kSeen: return flags.has(store::kSeen);
    case SearchKeyKind::kUnanswered: return !flags.has(store::kAnswered);
    case SearchKeyKind::kUndeleted: return !flags.has(store::kDeleted);
    case SearchKeyKind::kUndraft: return !flags.has(store::kDraft);
    case SearchKeyKind::kUnflagged: return !flags.has(store::kFlagged);
    case SearchKeyKind::kUnseen: return !flags.has(store::kSeen);
    case SearchKeyKind::kKeyword: return has_keyword(flags, key.value);
    case SearchKeyKind::kUnkeyword: return !has_keyword(flags, key.value);
    case SearchKeyKind::kBcc: return header_key_matches(key, "Bcc", context);
    case SearchKeyKind::kCc: return header_key_matches(key, "Cc", context);
    case SearchKeyKind::kFrom: return header_key_matches(key, "From", context);
    case SearchKeyKind::kSubject: return header_key_matches(key, "Subject", context);
    case SearchKeyKind::kTo: return header_key_matches(key, "To", context);
    case SearchKeyKind::kHeader:
      return header_field_contains(context.header_block, key.field, to_ascii_lower(key.value));
    case SearchKeyKind::kBody: return text_contains(context, to_ascii_lower(key.value));
    case SearchKeyKind::kText: {
      const std::string needle = to_ascii_lower(key.value);
      return any_header_contains(context.header_block, needle) || text_contains(context, needle);
    }
    case SearchKeyKind::kBefore:
    case SearchKeyKind::kOn:
    case SearchKeyKind::kSince: {
      const std::int64_t day = floor_div(context.internal_date, kSecondsPerDay);
      const std::int64_t wanted = key.date.days_since_epoch();
      if (key.kind == SearchKeyKind::kBefore) return day < wanted;
      if (key.kind == SearchKeyKind::kOn) return day == wanted;
      return day >= wanted;
    }
    case SearchKeyKind::kSentBefore:
    case SearchKeyKind::kSentOn:
    case SearchKeyKind::kSentSince: {
      const std::optional<std::int64_t> day = sent_day(context);
      if (!day) return false;
      const std::int64_t wanted = key.date.days_since_epoch();
      if (key.kind == SearchKeyKind::kSentBefore) return *day < wanted;
      if (key.kind == SearchKeyKind::kSentOn) return *day == wanted;
      return *day >= wanted;
    }
    case SearchKeyKind::kLarger: return context.size > key.size;
    case SearchKeyKind::kSmaller: return context.size < key.size;
    case SearchKeyKind::kUid: return key.set.contains(context.uid, context.max_uid);
    case SearchKeyKind::kSequenceSet:
      return key.set.contains(context.sequence, context.max_sequence);
  }
  return false;
}

}  // namespace post::email
