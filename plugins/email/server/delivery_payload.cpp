#include "plugins/email/server/delivery_payload.h"

#include <algorithm>
#include <cstring>

namespace post::email {
namespace {

constexpr std::string_view kPayloadMagic = "EPN";
constexpr std::uint8_t kPayloadVersion = 1;

void put_le(std::string& out, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void put_str(std::string& out, std::string_view s, std::size_t limit) {
  s = s.substr(0, std::min(limit, std::size_t{0xffff}));
  put_le(out, s.size(), 2);
  out.append(s);
}

void put_digest(std::string& out, const store::Bytes32& d) {
  out.append(reinterpret_cast<const char*>(d.data()), d.size());
}

// Reads little-endian fields from a bounded input; every read fails once one ran short.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  bool at_end() const { return in_.empty(); }

  std::uint64_t le(int bytes) {
    if (!take(static_cast<std::size_t>(bytes))) return 0;
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i)
      v |= std::uint64_t{static_cast<std::uint8_t>(last_[static_cast<std::size_t>(i)])} << (8 * i);
    return v;
  }
  std::string str(std::size_t limit) {
    std::size_t n = le(2);
    if (n > limit) ok_ = false;
    if (!ok_ || !take(n)) return {};
    return std::string(last_);
  }
  store::Bytes32 digest() {
    store::Bytes32 d{};
    if (take(d.size())) std::memcpy(d.data(), last_.data(), d.size());
    return d;
  }
  std::string_view bytes(std::size_t n) { return take(n) ? last_ : std::string_view(); }

 private:
  bool take(std::size_t n) {
    if (!ok_ || in_.size() < n) {
      ok_ = false;
      return false;
    }
    last_ = in_.substr(0, n);
    in_.remove_prefix(n);
    return true;
  }

  std::string_view in_;
  std::string_view last_;
  bool ok_ = true;
};

}  // namespace

std::string encode_payload(const DeliveryPayload& p) {
  std::string out(kPayloadMagic);
  out.push_back(static_cast<char>(kPayloadVersion));
  put_digest(out, p.message_id);
  put_le(out, p.size, 4);
  put_le(out, static_cast<std::uint64_t>(p.sent_at), 8);
  for (const std::string* s :
       {&p.mail_from, &p.from, &p.to, &p.subject, &p.date, &p.message_id_header}) {
    put_str(out, *s, kMaxSummaryFieldBytes);
  }
  put_str(out, p.layout, kMaxPayloadLayoutBytes);
  std::size_t n = std::min(p.parts.size(), kMaxPayloadParts);
  put_le(out, n, 2);
  for (std::size_t i = 0; i < n; ++i) {
    put_digest(out, p.parts[i].handle);
    put_digest(out, p.parts[i].key);
  }
  return out;
}

std::optional<DeliveryPayload> decode_payload(std::string_view bytes, std::string* why) {
  auto fail = [&](const char* reason) -> std::optional<DeliveryPayload> {
    if (why != nullptr) *why = reason;
    return std::nullopt;
  };
  if (bytes.size() > kMaxPayloadBytes) return fail("payload over 16 KiB");
  Reader r(bytes);
  if (r.bytes(kPayloadMagic.size()) != kPayloadMagic) return fail("not an email payload");
  if (r.le(1) != kPayloadVersion) return fail("unknown payload version");
  DeliveryPayload p;
  p.message_id = r.digest();
  p.size = static_cast<std::uint32_t>(r.le(4));
  p.sent_at = static_cast<std::int64_t>(r.le(8));
  for (std::string* s : {&p.mail_from, &p.from, &p.to, &p.subject, &p.date, &p.message_id_header}) {
    *s = r.str(kMaxSummaryFieldBytes);
  }
  p.layout = r.str(kMaxPayloadLayoutBytes);
  std::size_t n = r.le(2);
  if (n > kMaxPayloadParts) return fail("too many parts");
  for (std::size_t i = 0; i < n && r.ok(); ++i) {
    store::PartRef part;
    part.handle = r.digest();
    part.key = r.digest();
    p.parts.push_back(part);
  }
  if (!r.ok()) return fail("truncated or over a field limit");
  if (!r.at_end()) return fail("trailing bytes");
  return p;
}

}  // namespace post::email
