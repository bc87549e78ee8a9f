// Error codes of host/scribe.
#pragma once

#include <system_error>

#include "host/core/errors.h"

namespace post::scribe {

enum class ScribeErrc {
  kNoMemberAccepted = 1,  // an anycast visited the whole tree and nobody took it
  kTimeout,               // no answer in time
};

const std::error_category& scribe_category();

inline std::error_code make_error_code(ScribeErrc e) { return {static_cast<int>(e), scribe_category()}; }

using post::make_error;

}  // namespace post::scribe

template <>
struct std::is_error_code_enum<post::scribe::ScribeErrc> : std::true_type {};
