// Bytes into what the email plugin reads from operators and from other users' logs: a mailing
// list's member records (mailing_list.h) and the arguments of `postctl command email ...`
// (admin_commands.h), run against an in-memory ring holding the input's lines as the list's
// records. Nothing may crash; a member record that decodes encodes to the same record (lower
// case); every command is answered exactly once; a list never holds an address twice nor more
// than kMaxListMembers.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/email/common/ascii.h"
#include "plugins/email/server/admin_commands.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/unit/email/server/memory_admin_target.h"

namespace {

using post::fuzz::check;
using namespace post::email;

std::vector<std::string> split(std::string_view text, char by, std::size_t most) {
  std::vector<std::string> out;
  while (out.size() < most) {
    auto end = text.find(by);
    out.emplace_back(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // Before the first NUL: the list's log, a record per line. After it: a command, an argument
  // per line.
  auto nul = input.find('\0');
  std::string_view records = input.substr(0, nul);
  std::string_view command = nul == std::string_view::npos ? "" : input.substr(nul + 1);

  testing::MemoryMailIo io;
  io.served = {"l@x", "u@x"};
  for (const std::string& line : split(records, '\n', 64)) {
    if (auto change = decode_member_change(line)) {
      check(encode_member_change(*change) == line.substr(0, 1) + to_ascii_lower(line.substr(1)));
    }
    io.append_log("l@x", std::string(kListMembersLog), line, [](IoResult<std::uint64_t>) {});
  }
  testing::MemoryAdminTarget target(io);
  int answers = 0;
  run_admin_command(target, split(command, '\n', 16), [&](AdminAnswer) { ++answers; });
  io.run();
  check(answers == 1);

  // The list as a reader sees it afterwards.
  bool read = false;
  target.lists().members("l@x", [&](IoResult<ListDirectory::Members> r) {
    read = true;
    if (!r.ok() || !r->has_value()) return;
    const auto& members = **r;
    check(members.size() <= kMaxListMembers);
    std::set<std::string> unique(members.begin(), members.end());
    check(unique.size() == members.size());
  });
  io.run();
  check(read);
  return 0;
}
