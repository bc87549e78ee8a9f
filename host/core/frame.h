// Wire framing: every message between nodes travels as one frame,
//
//   length (4 bytes, big-endian) | version (1 byte) | body (length - 1 bytes)
//
// where `length` counts the version byte and the body, and the body is one serialized
// protobuf message. Frames larger than kMaxFrameBytes are refused before any of their body
// is buffered. docs/protocol/framing.md is the specification.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <google/protobuf/message_lite.h>

#include "host/core/bytes.h"
#include "host/core/errors.h"
#include "host/core/result.h"

namespace post::wire {

inline constexpr std::uint8_t kFrameVersion = 1;
inline constexpr std::size_t kFrameHeaderBytes = 5;
// A 4 MiB block (PAST's maximum) plus the message around it. Larger payloads are split by
// the layer that produces them, so a bigger frame is always an error or an attack.
inline constexpr std::size_t kMaxFrameBytes = 4 * 1024 * 1024 + 128 * 1024;

// Frames `body`. The caller guarantees body.size() + 1 <= kMaxFrameBytes.
Bytes encode_frame(ByteView body);

// Reads the 5-byte frame header and returns the body length. Refuses a length over
// `max_frame_bytes` (kFrameTooLarge), a zero length (kFrameTruncated) and a version other than
// kFrameVersion (kBadFrameVersion).
Result<std::size_t> parse_frame_header(ByteView header,
                                       std::size_t max_frame_bytes = kMaxFrameBytes);

// Splits a byte stream into frame bodies. Feed bytes as they arrive, then take bodies with
// next() until it returns nullopt. After an error the stream cannot be resynchronised and
// the caller closes the link; the decoder then refuses further input.
class FrameDecoder {
 public:
  // Frames longer than `max_frame_bytes` (at most kMaxFrameBytes) are refused; a link
  // lowers it while unauthenticated, since handshake frames are small.
  explicit FrameDecoder(std::size_t max_frame_bytes = kMaxFrameBytes)
      : max_frame_bytes_(max_frame_bytes) {}
  void set_max_frame_bytes(std::size_t n) { max_frame_bytes_ = n; }

  // Appends received bytes.
  void feed(ByteView data);
  // The next complete frame body; nullopt when more bytes are needed; an error when the
  // stream is malformed.
  Result<std::optional<Bytes>> next();
  // Bytes received but not yet returned as a frame body.
  std::size_t buffered() const { return buffer_.size() - consumed_; }

 private:
  Bytes buffer_;
  std::size_t consumed_ = 0;
  std::optional<Error> failed_;
  std::size_t max_frame_bytes_;
};

// Serializes `message`.
inline Bytes encode_message(const google::protobuf::MessageLite& message) {
  Bytes out(message.ByteSizeLong());
  message.SerializeToArray(out.data(), static_cast<int>(out.size()));
  return out;
}

// Parses `bytes` as a `Message`; never throws. `what` names the message in the error, e.g.
// "link frame from 3fa2c1d0".
template <class Message>
Result<Message> decode_message(ByteView bytes, std::string_view what) {
  Message m;
  if (bytes.size() > kMaxFrameBytes ||
      !m.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return make_error(CoreErrc::kDecodeFailed, std::string(what) + ": not a valid message (" +
                                                   std::to_string(bytes.size()) + " bytes)");
  }
  return m;
}

}  // namespace post::wire
