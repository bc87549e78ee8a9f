// Dates of IMAP commands and responses: "date" of SEARCH (RFC 3501 9, "1-Feb-1994") and
// "date-time" of APPEND and INTERNALDATE ("17-Jul-1996 02:44:25 -0700").
#pragma once

#include <cstdint>
#include <string>

namespace post::email {

// A calendar day; parsed values are always a real day of the Gregorian calendar.
struct ImapDate {
  int year = 1970;
  int month = 1;  // 1..12
  int day = 1;    // 1..31
  bool operator==(const ImapDate&) const = default;

  // Days since 1970-01-01 (negative before). SEARCH compares dates with the message's date
  // in its own zone, disregarding time (RFC 3501 6.4.4).
  std::int64_t days_since_epoch() const;
};

// A moment with the zone it was written in.
struct ImapDateTime {
  ImapDate date;
  int hour = 0;          // 0..23
  int minute = 0;        // 0..59
  int second = 0;        // 0..60 (leap second)
  int zone_minutes = 0;  // east of UTC: -0700 is -420
  bool operator==(const ImapDateTime&) const = default;

  // Seconds since the Unix epoch, UTC.
  std::int64_t unix_seconds() const;
};

// The date-time of `unix_seconds` shown in a zone `zone_minutes` east of UTC, quoted as in
// an INTERNALDATE response: "\"17-Jul-1996 02:44:25 -0700\"".
std::string format_date_time(std::int64_t unix_seconds, int zone_minutes);

// Whether `day` exists in `month` of `year`.
bool is_valid_date(int year, int month, int day);

}  // namespace post::email
