// Errors of the mail store (decoding records and snapshots, applying records to a folder or
// to the folder list), and the small result type its functions return. The library is
// linked into a plugin and depends on the C++ standard library only, so it carries its own
// Result rather than host/core's.
#pragma once

#include <cassert>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

#include "plugins/email/common/email_result.h"

namespace post::email::store {

enum class StoreErrc {
  // Decoding: the bytes are not a well-formed record or snapshot of this format.
  kTruncated = 1,       // the input ends inside a field
  kBadMagic,            // the first byte is not kFormatMagic
  kUnsupportedVersion,  // a format version this code does not read
  kUnknownKind,         // a record kind this version does not define
  kWrongKind,           // a valid kind in the wrong place (a snapshot given as a record, ...)
  kBadVarint,           // an overlong varint, or one that overflows its field
  kTooLarge,            // over one of the size or count limits of mail_record.h
  kBadValue,            // a field outside its domain (unknown flag bit, mode 7, UID 0, ...)
  kBadName,             // a folder name that breaks the naming rules (mail_record.h)
  kBadKeyword,          // a keyword flag that is not an IMAP atom, or a duplicate
  kBadUidSet,           // an empty UID set, or one past the largest UID
  // Applying: a well-formed record that the state cannot take. State is left unchanged.
  kOutOfOrder,        // a log index not above the last applied one
  kNotForThisLog,     // a folder-list record given to a folder, or the other way round
  kUidsExhausted,     // an Insert into a folder whose UIDNEXT reached its maximum
  kNoSuchFolder,      // delete, rename or subscribe-less operation on a missing folder
  kFolderExists,      // create or rename onto an existing name
  kStaleUidValidity,  // a UIDVALIDITY not above every one used before
  kInboxIsPermanent,  // delete of INBOX
  kNoSuchMessage,     // a message sequence number past the last message
};

// The category of StoreErrc ("email-store").
const std::error_category& store_category();

inline std::error_code make_error_code(StoreErrc e) {
  return {static_cast<int>(e), store_category()};
}

// An error code plus what was wrong, in our own words; `detail` never quotes the input.
struct StoreError {
  StoreErrc code = StoreErrc::kTruncated;
  std::string detail;
};

inline StoreError store_error(StoreErrc code, std::string detail) {
  return StoreError{code, std::move(detail)};
}

// A value or a StoreError (plugins/email/common/email_result.h).
template <class T>
using StoreResult = EmailResult<T, StoreError>;

// The result of an operation with no value.
struct Done {};
using StoreStatus = StoreResult<Done>;

inline StoreStatus store_ok() {
  return Done{};
}

}  // namespace post::email::store

template <>
struct std::is_error_code_enum<post::email::store::StoreErrc> : std::true_type {};
