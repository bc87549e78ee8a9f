#include "host/pastry/handle_codec.h"

#include <algorithm>

namespace post::pastry {

namespace pb = proto::pastry;

void to_proto(const NodeHandle& h, pb::Handle* out) {
  out->set_id(h.id.bytes().data(), Id::kBytes);
  out->set_ip(h.address.ip.data(), h.address.ip.size());
  out->set_port(h.address.port);
}

std::optional<NodeHandle> from_proto(const pb::Handle& h) {
  auto id = Id::from_bytes(as_bytes(h.id()));
  if (!id.ok() || h.ip().size() != 16 || h.port() == 0 || h.port() > 65535) return std::nullopt;
  NodeHandle out;
  out.id = *id;
  std::copy(h.ip().begin(), h.ip().end(), out.address.ip.begin());
  out.address.port = static_cast<std::uint16_t>(h.port());
  return out;
}

std::optional<Id> id_from_wire(const std::string& bytes) {
  auto id = Id::from_bytes(as_bytes(bytes));
  if (!id.ok()) return std::nullopt;
  return *id;
}

void set_id(std::string* out, const Id& id) { out->assign(id.bytes().begin(), id.bytes().end()); }

std::optional<std::vector<NodeHandle>> from_proto(
    const google::protobuf::RepeatedPtrField<pb::Handle>& handles) {
  std::vector<NodeHandle> out;
  out.reserve(handles.size());
  for (const auto& h : handles) {
    auto n = from_proto(h);
    if (!n) return std::nullopt;
    out.push_back(*n);
  }
  return out;
}

}  // namespace post::pastry
