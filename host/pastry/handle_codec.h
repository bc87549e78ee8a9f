// NodeHandle <-> proto::pastry::Handle, and ids in `bytes` fields, for every layer that names
// nodes or keys on the wire (Pastry, PAST, Scribe). Decoding never throws: malformed is nullopt.
#pragma once

#include <optional>
#include <vector>

#include "host/net/address.h"
#include "host/pastry/proto/pastry.pb.h"

namespace post::pastry {

using net::NodeHandle;

void to_proto(const NodeHandle& h, proto::pastry::Handle* out);

// A handle from the wire, or nullopt when it is malformed.
std::optional<NodeHandle> from_proto(const proto::pastry::Handle& h);

// An id from a `bytes` field, or nullopt unless it is exactly 32 bytes.
std::optional<Id> id_from_wire(const std::string& bytes);

// Writes `id` into a `bytes` field.
void set_id(std::string* out, const Id& id);

// Every handle in `handles`, or nullopt when one is malformed.
std::optional<std::vector<NodeHandle>> from_proto(
    const google::protobuf::RepeatedPtrField<proto::pastry::Handle>& handles);

}  // namespace post::pastry
