#include "plugins/email/server/stored_message.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>

#include "plugins/email/common/ascii.h"

namespace post::email {
namespace {

constexpr std::string_view kLayoutMagic = "EFL";
constexpr std::uint8_t kLayoutVersion = 1;
constexpr char kInlineLayout = 'I';
constexpr char kStoredLayout = 'S';
constexpr char kVerifiedLayout = 'V';
// A copy of the verified-sender field in the sender's own header is renamed to this, of the
// same length, so no offset or size changes and no client mistakes it for the real one.
constexpr std::string_view kNeutralisedField = "X-POST-Unchecked-Claim";
static_assert(kNeutralisedField.size() == kVerifiedSenderField.size());

// Renames every field of `header` named kVerifiedSenderField (any case, at a line start).
void neutralise_verified_sender(std::string& header) {
  std::size_t at = 0;
  while (at < header.size()) {
    if (header.size() - at > kVerifiedSenderField.size() &&
        iequals(std::string_view(header).substr(at, kVerifiedSenderField.size()),
                kVerifiedSenderField) &&
        header[at + kVerifiedSenderField.size()] == ':') {
      header.replace(at, kNeutralisedField.size(), kNeutralisedField);
    }
    std::size_t line_end = header.find('\n', at);
    if (line_end == std::string::npos) break;
    at = line_end + 1;
  }
}

void put_le(std::string& out, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::uint64_t get_le(std::string_view in, std::size_t at, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) {
    v |= std::uint64_t{static_cast<std::uint8_t>(in[at + static_cast<std::size_t>(i)])} << (8 * i);
  }
  return v;
}

void flatten(const MimePart& part, std::string& literal, std::string& out) {
  auto flush = [&] {
    if (literal.empty()) return;
    out.push_back(0);
    put_le(out, literal.size(), 4);
    out.append(literal);
    literal.clear();
  };
  auto glue = [&](std::size_t i) {
    if (i < part.glue.size()) literal.append(part.glue[i]);
  };
  literal.append(part.header);
  glue(0);
  if (part.kind == MimePartKind::kLeaf) {
    flush();
    out.push_back(1);
    put_le(out, part.body_index, 2);
    glue(1);
    return;
  }
  for (std::size_t i = 0; i < part.children.size(); ++i) {
    flatten(part.children[i], literal, out);
    glue(i + 1);
  }
  if (part.children.empty()) glue(1);
}

// Calls `text(bytes)` and `body(index)` for the segments of a flat layout in order; false
// when it is malformed (either callback may also stop the walk by returning false).
template <class Text, class Body>
bool walk_flat(std::string_view flat, Text text, Body body) {
  if (flat.size() < 4 || flat.substr(0, 3) != kLayoutMagic ||
      static_cast<std::uint8_t>(flat[3]) != kLayoutVersion) {
    return false;
  }
  std::size_t at = 4;
  while (at < flat.size()) {
    std::uint8_t kind = static_cast<std::uint8_t>(flat[at++]);
    if (kind == 0) {
      if (flat.size() - at < 4) return false;
      std::uint64_t n = get_le(flat, at, 4);
      at += 4;
      if (flat.size() - at < n) return false;
      if (!text(flat.substr(at, n))) return false;
      at += n;
    } else if (kind == 1) {
      if (flat.size() - at < 2) return false;
      std::size_t index = get_le(flat, at, 2);
      at += 2;
      if (!body(index)) return false;
    } else {
      return false;
    }
  }
  return true;
}

store::PartRef part_ref(std::string_view handle, std::string_view key) {
  store::PartRef ref;
  std::memcpy(ref.handle.data(), handle.data(), ref.handle.size());
  std::memcpy(ref.key.data(), key.data(), ref.key.size());
  return ref;
}

bool zero(const store::Bytes32& b) {
  return std::all_of(b.begin(), b.end(), [](std::uint8_t x) { return x == 0; });
}

// Stores the bodies and (when large) the layout of one message; answers once.
class Storer : public std::enable_shared_from_this<Storer> {
 public:
  Storer(MailIo& io, std::function<void(IoResult<StoredMessage>)> done)
      : io_(io), done_(std::move(done)) {}

  void run(std::string_view message) {
    auto decomposed = decompose(message);
    if (!decomposed) {
      return finish(IoError{"message refused: " + decomposed.error().detail, false});
    }
    if (decomposed->bodies.size() > store::kMaxParts) {
      return finish(IoError{"too many MIME parts (" + std::to_string(decomposed->bodies.size()) +
                                ", at most " + std::to_string(store::kMaxParts) + ")",
                            false});
    }
    result_.envelope = decomposed->layout.envelope;
    result_.ref.message_id = sha256(normalise_line_endings(message));
    result_.ref.size = static_cast<std::uint32_t>(decomposed->layout.size);
    result_.ref.parts.resize(decomposed->bodies.size());
    std::string flat = flatten_layout(decomposed->layout);
    pending_ = 1;  // held until every put has started
    for (std::size_t i = 0; i < decomposed->bodies.size(); ++i) {
      if (decomposed->bodies[i].empty()) continue;
      put(pad_body(decomposed->bodies[i]),
          [this, i](const store::PartRef& ref) { result_.ref.parts[i] = ref; });
    }
    if (flat.size() <= kMaxInlineLayoutBytes) {
      result_.ref.layout = kInlineLayout + flat;
    } else {
      put(std::move(flat), [this](const store::PartRef& ref) {
        result_.ref.layout = kStoredLayout;
        result_.ref.layout.append(reinterpret_cast<const char*>(ref.handle.data()), 32);
        result_.ref.layout.append(reinterpret_cast<const char*>(ref.key.data()), 32);
      });
    }
    settle();
  }

 private:
  void put(std::string content, std::function<void(const store::PartRef&)> take) {
    ++pending_;
    io_.put_content(std::move(content),
                    [self = shared_from_this(), take](IoResult<store::PartRef> r) {
                      if (r.ok()) {
                        take(*r);
                      } else if (!self->error_) {
                        self->error_ = r.error();
                      }
                      self->settle();
                    });
  }

  void settle() {
    if (--pending_ > 0) return;
    if (error_) return finish(std::move(*error_));
    finish(std::move(result_));
  }

  void finish(IoResult<StoredMessage> r) {
    if (!done_) return;
    auto done = std::move(done_);
    done_ = nullptr;
    done(std::move(r));
  }

  MailIo& io_;
  std::function<void(IoResult<StoredMessage>)> done_;
  StoredMessage result_;
  std::size_t pending_ = 0;
  std::optional<IoError> error_;
};

// Fetches the layout and, when asked, the bodies of one message; answers once.
class Loader : public std::enable_shared_from_this<Loader> {
 public:
  using Done = std::function<void(IoResult<std::shared_ptr<const LoadedMessage>>)>;
  Loader(MailIo& io, store::MessageRef ref, bool with_bodies, Done done)
      : io_(io), ref_(std::move(ref)), with_bodies_(with_bodies), done_(std::move(done)) {}

  void run() {
    std::string_view layout = ref_.layout;
    if (!layout.empty() && layout[0] == kVerifiedLayout) {
      // "V" u16 length, the verified-sender header line, then the sender's layout.
      if (layout.size() < 3) return finish(IoError{"the message's layout is malformed", false});
      std::size_t n = static_cast<std::uint8_t>(layout[1]) |
                      std::size_t{static_cast<std::uint8_t>(layout[2])} << 8;
      if (layout.size() - 3 < n) return finish(IoError{"the message's layout is malformed", false});
      prefix_ = layout.substr(3, n);
      layout.remove_prefix(3 + n);
      verified_ = true;
    }
    if (!layout.empty() && layout[0] == kInlineLayout) {
      return have_layout(std::string(layout.substr(1)));
    }
    if (layout.size() != 65 || layout[0] != kStoredLayout) {
      return finish(IoError{"the message's layout is malformed", false});
    }
    io_.fetch_content(part_ref(layout.substr(1, 32), layout.substr(33, 32)),
                      [self = shared_from_this()](IoResult<std::string> r) {
                        if (!r.ok()) return self->finish(r.error());
                        self->have_layout(std::move(*r));
                      });
  }

 private:
  void have_layout(std::string flat) {
    flat_ = std::move(flat);
    loaded_.header = flat_header_block(flat_);
    if (verified_) {
      neutralise_verified_sender(loaded_.header);
      loaded_.header.insert(0, prefix_);
    }
    if (!with_bodies_) {
      // The header block alone is a message without a body: its summary costs one parse.
      if (auto header_only = decompose(loaded_.header)) {
        loaded_.envelope = std::move(header_only->layout.envelope);
      }
      return finish(std::make_shared<const LoadedMessage>(std::move(loaded_)));
    }
    bodies_.resize(ref_.parts.size());
    pending_ = 1;
    for (std::size_t i = 0; i < ref_.parts.size(); ++i) {
      const store::PartRef& part = ref_.parts[i];
      if (zero(part.handle) && zero(part.key)) continue;
      ++pending_;
      io_.fetch_content(part, [self = shared_from_this(), i](IoResult<std::string> r) {
        auto body = r.ok() ? unpad_body(*r) : std::nullopt;
        if (body) {
          self->bodies_[i] = std::move(*body);
        } else if (!r.ok() && !self->error_) {
          self->error_ = r.error();
        } else if (!self->error_) {
          self->error_ = IoError{"a stored part of the message is malformed", false};
          self->error_ = r.error();
        }
        self->settle();
      });
    }
    settle();
  }

  void settle() {
    if (--pending_ > 0) return;
    if (error_) return finish(std::move(*error_));
    auto message = rebuild_message(flat_, bodies_);
    if (!message) return finish(IoError{"the message's layout does not fit its parts", false});
    if (verified_) {
      // The same renaming as in the header block above (it is the message's first bytes).
      std::string header = flat_header_block(flat_);
      neutralise_verified_sender(header);
      message->replace(0, header.size(), header);
      message->insert(0, prefix_);
    }
    auto decomposed = decompose(*message);
    if (!decomposed) {
      return finish(
          IoError{"the stored message cannot be read: " + decomposed.error().detail, false});
    }
    loaded_.message = std::move(*message);
    loaded_.envelope = decomposed->layout.envelope;
    loaded_.decomposed = std::move(*decomposed);
    finish(std::make_shared<const LoadedMessage>(std::move(loaded_)));
  }

  void finish(IoResult<std::shared_ptr<const LoadedMessage>> r) {
    if (!done_) return;
    auto done = std::move(done_);
    done_ = nullptr;
    done(std::move(r));
  }

  MailIo& io_;
  store::MessageRef ref_;
  bool with_bodies_;
  Done done_;
  std::string flat_;
  std::string prefix_;  // the verified-sender header line, for a "V" layout
  bool verified_ = false;
  std::vector<std::string> bodies_;
  LoadedMessage loaded_;
  std::size_t pending_ = 0;
  std::optional<IoError> error_;
};

// A cache key naming everything a load reads: layout and parts (the message_id alone is the
// sender's word and could name another user's message).
std::string cache_key(const store::MessageRef& ref) {
  std::string all = ref.layout;
  for (const auto& p : ref.parts) {
    all.append(reinterpret_cast<const char*>(p.handle.data()), p.handle.size());
    all.append(reinterpret_cast<const char*>(p.key.data()), p.key.size());
  }
  store::Bytes32 digest = sha256(all);
  return std::string(reinterpret_cast<const char*>(digest.data()), digest.size());
}

std::size_t footprint(const LoadedMessage& m) {
  std::size_t n = m.header.size() + 256;
  if (m.message) n += 2 * m.message->size();  // the text and its bodies
  return n;
}

}  // namespace

std::string pad_body(std::string_view body) {
  std::size_t need = body.size() + 4;
  std::size_t padded = kMinPaddedBodyBytes;
  if (need > kLargeBodyBytes) {
    padded = (need + kLargeBodyStep - 1) / kLargeBodyStep * kLargeBodyStep;
  } else {
    while (padded < need) padded *= 2;
  }
  std::string out;
  out.reserve(padded);
  put_le(out, body.size(), 4);
  out.append(body);
  out.resize(padded, '\0');
  return out;
}

std::optional<std::string> unpad_body(std::string_view stored) {
  if (stored.size() < 4) return std::nullopt;
  std::uint64_t n = get_le(stored, 0, 4);
  if (n > stored.size() - 4) return std::nullopt;
  return std::string(stored.substr(4, n));
}

std::string flatten_layout(const MessageLayout& layout) {
  std::string out(kLayoutMagic);
  out.push_back(static_cast<char>(kLayoutVersion));
  std::string literal;
  flatten(layout.root, literal, out);
  if (!literal.empty()) {
    out.push_back(0);
    put_le(out, literal.size(), 4);
    out.append(literal);
  }
  return out;
}

std::optional<std::string> rebuild_message(std::string_view flat,
                                           std::span<const std::string> bodies) {
  std::string out;
  bool ok = walk_flat(
      flat,
      [&](std::string_view text) {
        out.append(text);
        return true;
      },
      [&](std::size_t index) {
        if (index >= bodies.size()) return false;
        out.append(bodies[index]);
        return true;
      });
  if (!ok) return std::nullopt;
  return out;
}

std::string flat_header_block(std::string_view flat) {
  std::string header;
  walk_flat(
      flat,
      [&](std::string_view text) {
        header.assign(text);
        return false;
      },
      [](std::size_t) { return false; });
  std::size_t end = header.find("\r\n\r\n");
  if (header.rfind("\r\n", 0) == 0) return "\r\n";  // no header fields at all
  if (end != std::string::npos) header.resize(end + 4);
  return header;
}

std::string verified_sender_header(std::string_view sender) {
  std::string clean;
  for (char c : sender) {
    if (c != '\r' && c != '\n') clean.push_back(c);
  }
  return std::string(kVerifiedSenderField) + ": " + clean + "\r\n";
}

std::optional<std::string> verified_sender_layout(std::string_view sender,
                                                  std::string_view layout) {
  if (layout.empty() || (layout[0] != kInlineLayout && layout[0] != kStoredLayout)) {
    return std::nullopt;
  }
  std::string header = verified_sender_header(sender);
  if (header.size() > 0xffff) return std::nullopt;
  std::string out(1, kVerifiedLayout);
  out.push_back(static_cast<char>(header.size() & 0xff));
  out.push_back(static_cast<char>(header.size() >> 8));
  out += header;
  out += layout;
  return out;
}

store::Bytes32 sha256(std::string_view bytes) {
  store::Bytes32 d{};
  unsigned int n = 0;
  EVP_Digest(bytes.data(), bytes.size(), d.data(), &n, EVP_sha256(), nullptr);
  return d;
}

std::string hex(std::span<const std::uint8_t> bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (std::uint8_t b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

void store_message(MailIo& io, std::string_view message,
                   std::function<void(IoResult<StoredMessage>)> done) {
  std::make_shared<Storer>(io, std::move(done))->run(message);
}

void MessageLoader::load(const store::MessageRef& ref, bool with_bodies,
                         std::function<void(IoResult<std::shared_ptr<const LoadedMessage>>)> done) {
  std::string id = cache_key(ref);
  if (auto hit = cached(id, with_bodies)) return done(hit);
  auto loader = std::make_shared<Loader>(
      io_, ref, with_bodies,
      [this, id, done = std::move(done)](IoResult<std::shared_ptr<const LoadedMessage>> r) {
        if (r.ok()) remember(id, *r);
        done(std::move(r));
      });
  loader->run();
}

std::shared_ptr<const LoadedMessage> MessageLoader::cached(const std::string& id,
                                                           bool with_bodies) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return nullptr;
  if (with_bodies && !it->second->message->message) return nullptr;
  entries_.splice(entries_.begin(), entries_, it->second);
  return it->second->message;
}

void MessageLoader::remember(const std::string& id, std::shared_ptr<const LoadedMessage> message) {
  std::size_t bytes = footprint(*message);
  if (bytes > cache_bytes_) return;
  if (auto it = by_id_.find(id); it != by_id_.end()) {
    used_bytes_ -= it->second->bytes;
    entries_.erase(it->second);
    by_id_.erase(it);
  }
  entries_.push_front(Entry{id, std::move(message), bytes});
  by_id_[id] = entries_.begin();
  used_bytes_ += bytes;
  while (used_bytes_ > cache_bytes_ && !entries_.empty()) {
    used_bytes_ -= entries_.back().bytes;
    by_id_.erase(entries_.back().id);
    entries_.pop_back();
  }
}

}  // namespace post::email
