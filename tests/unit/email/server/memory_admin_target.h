// AdminTarget over a MemoryMailIo, for tests and fuzzing of the email plugin's operator
// commands: accounts made on first use, a list directory whose clock stands still.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "plugins/email/server/admin_commands.h"
#include "tests/unit/email/server/memory_mail_io.h"

namespace post::email::testing {

class MemoryAdminTarget : public AdminTarget {
 public:
  explicit MemoryAdminTarget(MemoryMailIo& io) : io_(io) {}
  MailAccount& account_of(const std::string& user) override {
    auto& a = accounts_[user];
    if (!a) a = std::make_unique<MailAccount>(io_, user);
    return *a;
  }
  ListDirectory& lists() override { return lists_; }

 private:
  MemoryMailIo& io_;
  std::map<std::string, std::unique_ptr<MailAccount>> accounts_;
  ListDirectory lists_{io_, [] { return std::int64_t{0}; }};
};

}  // namespace post::email::testing
