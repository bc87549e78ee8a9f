#include "plugins/email/imap/imap_date.h"

#include <array>
#include <cstdio>
#include <string_view>

namespace post::email {
namespace {

constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// Days from 1970-01-01 to year-month-day (proleptic Gregorian; H. Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct Civil {
  std::int64_t year;
  unsigned month;
  unsigned day;
};

Civil civil_from_days(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return Civil{y + (m <= 2), m, d};
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

}  // namespace

bool is_valid_date(int year, int month, int day) {
  if (month < 1 || month > 12 || day < 1) return false;
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int days = kDays[static_cast<std::size_t>(month - 1)];
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month == 2 && leap) days = 29;
  return day <= days;
}

std::int64_t ImapDate::days_since_epoch() const {
  return days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
}

std::int64_t ImapDateTime::unix_seconds() const {
  return date.days_since_epoch() * 86400 + std::int64_t{hour} * 3600 + std::int64_t{minute} * 60 +
         second - static_cast<std::int64_t>(zone_minutes) * 60;
}

std::string format_date_time(std::int64_t unix_seconds, int zone_minutes) {
  std::int64_t local = unix_seconds + static_cast<std::int64_t>(zone_minutes) * 60;
  std::int64_t days = floor_div(local, 86400);
  std::int64_t secs = local - days * 86400;
  Civil c = civil_from_days(days);
  int zone = zone_minutes < 0 ? -zone_minutes : zone_minutes;
  char out[64];
  std::snprintf(out, sizeof out, "\"%02u-%s-%04lld %02d:%02d:%02d %c%02d%02d\"", c.day,
                kMonths[c.month - 1].data(), static_cast<long long>(c.year),
                static_cast<int>(secs / 3600), static_cast<int>(secs / 60 % 60),
                static_cast<int>(secs % 60), zone_minutes < 0 ? '-' : '+', zone / 60 % 100,
                zone % 60);
  return out;
}

}  // namespace post::email
