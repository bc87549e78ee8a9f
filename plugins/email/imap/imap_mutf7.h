// Modified UTF-7, the encoding of IMAP4rev1 mailbox names (RFC 3501 5.1.3). Printable
// US-ASCII except "&" stands for itself, "&-" is "&", and any other text is UTF-16BE in
// base64 (with "," for "/", no padding) between "&" and "-". We show users UTF-8 folder
// names and speak modified UTF-7 on the wire.
#pragma once

#include <string>
#include <string_view>

#include "plugins/email/imap/imap_result.h"

namespace post::email {

// Whether `name` is valid modified UTF-7: only printable ASCII outside shifts, every shift
// closed by "-", whole UTF-16 units with zero padding bits, no unpaired surrogates, no NUL,
// and no printable ASCII inside a shift (it must stand for itself).
bool is_valid_modified_utf7(std::string_view name);

// The UTF-8 text of a modified UTF-7 name; kBadModifiedUtf7 when it is not valid.
ImapResult<std::string> decode_modified_utf7(std::string_view name);

// The modified UTF-7 form of UTF-8 `text`; kBadUtf8 when `text` is not valid UTF-8
// (overlong forms, surrogates and code points above U+10FFFF are refused).
ImapResult<std::string> encode_modified_utf7(std::string_view text);

}  // namespace post::email
