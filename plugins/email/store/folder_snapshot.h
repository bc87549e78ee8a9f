// Snapshots of a folder's state, so that a large folder opens without replaying its whole
// log. A snapshot is too large for a log record: the writer stores it with store_put and
// appends a SnapshotMarker (the log index it covers, the handle and key) to the folder log
// or to a small log of its own. A reader restores the snapshot and applies the records after
// the index it covers; the result equals replaying the whole log.
#pragma once

#include <string>
#include <string_view>

#include "plugins/email/store/folder.h"
#include "plugins/email/store/store_error.h"

namespace post::email::store {

// The folder's complete state (UIDVALIDITY, UIDNEXT, last applied index, keywords,
// messages with their flags and references), in the format of FORMAT.md.
std::string encode_snapshot(const Folder& folder);

// Restores a folder from encode_snapshot()'s bytes. Refuses, with a reason: anything over
// kMaxSnapshotBytes, a bad header, truncation, malformed varints, a keyword table that is
// unsorted, duplicated, invalid or over kMaxKeywordsPerFolder, UIDs that are zero, not
// ascending or not below UIDNEXT, keyword indices out of the table or not ascending, and
// message fields that decode() would refuse in an Insert. Bytes after the known fields must
// be length-prefixed extension fields and are skipped.
StoreResult<Folder> decode_snapshot(std::string_view bytes);

}  // namespace post::email::store
