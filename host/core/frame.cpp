#include "host/core/frame.h"

#include <algorithm>

namespace post::wire {

Bytes encode_frame(ByteView body) {
  auto length = static_cast<std::uint32_t>(body.size() + 1);
  Bytes out;
  out.reserve(kFrameHeaderBytes + body.size());
  out.push_back(static_cast<std::uint8_t>(length >> 24));
  out.push_back(static_cast<std::uint8_t>(length >> 16));
  out.push_back(static_cast<std::uint8_t>(length >> 8));
  out.push_back(static_cast<std::uint8_t>(length));
  out.push_back(kFrameVersion);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

Result<std::size_t> parse_frame_header(ByteView header, std::size_t max_frame_bytes) {
  if (header.size() < kFrameHeaderBytes) {
    return make_error(CoreErrc::kFrameTruncated,
                      "frame header needs 5 bytes, got " + std::to_string(header.size()));
  }
  std::uint32_t length = std::uint32_t{header[0]} << 24 | std::uint32_t{header[1]} << 16 |
                         std::uint32_t{header[2]} << 8 | header[3];
  if (length == 0) {
    return make_error(CoreErrc::kFrameTruncated, "frame length 0 leaves no room for the version");
  }
  if (length > max_frame_bytes) {
    return make_error(CoreErrc::kFrameTooLarge, "frame of " + std::to_string(length) +
                                                    " bytes > limit of " +
                                                    std::to_string(max_frame_bytes));
  }
  if (header[4] != kFrameVersion) {
    return make_error(CoreErrc::kBadFrameVersion, "frame version " + std::to_string(header[4]) +
                                                      ", this node speaks " +
                                                      std::to_string(kFrameVersion));
  }
  return std::size_t{length - 1};
}

void FrameDecoder::feed(ByteView data) {
  if (failed_) return;
  // Compact before growing, so a long-lived link does not keep consumed bytes forever.
  if (consumed_ > 0 && consumed_ >= buffer_.size() / 2) {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(consumed_));
    consumed_ = 0;
  }
  buffer_.insert(buffer_.end(), data.begin(), data.end());
}

Result<std::optional<Bytes>> FrameDecoder::next() {
  if (failed_) return *failed_;
  if (buffered() < kFrameHeaderBytes) return std::optional<Bytes>();
  ByteView pending(buffer_.data() + consumed_, buffered());
  auto body_length = parse_frame_header(pending.first(kFrameHeaderBytes), max_frame_bytes_);
  if (!body_length.ok()) {
    failed_ = body_length.error();
    return *failed_;
  }
  if (pending.size() < kFrameHeaderBytes + *body_length) return std::optional<Bytes>();
  auto body = pending.subspan(kFrameHeaderBytes, *body_length);
  Bytes out(body.begin(), body.end());
  consumed_ += kFrameHeaderBytes + *body_length;
  if (consumed_ == buffer_.size()) {
    buffer_.clear();
    consumed_ = 0;
  }
  return std::optional<Bytes>(std::move(out));
}

}  // namespace post::wire
