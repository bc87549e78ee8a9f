// NodeHandle <-> proto::pastry::Handle, for every layer that names nodes on the wire (Pastry,
// PAST, Scribe). Decoding never throws: a malformed handle is nullopt.
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

// Every handle in `handles`, or nullopt when one is malformed.
std::optional<std::vector<NodeHandle>> from_proto(
    const google::protobuf::RepeatedPtrField<proto::pastry::Handle>& handles);

}  // namespace post::pastry
