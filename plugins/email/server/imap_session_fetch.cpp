// FETCH and SEARCH of ImapSession (imap_session.h): both visit messages of the selected
// folder, loading from the secure store only what their items or keys need.
#include <algorithm>
#include <set>

#include "plugins/email/imap/imap_response.h"
#include "plugins/email/render/imap_match.h"
#include "plugins/email/render/imap_render.h"
#include "plugins/email/server/imap_session.h"
#include "plugins/email/server/message_walk.h"

namespace post::email {
namespace {

LoadNeed need_of(const FetchItem& item) {
  switch (item.attribute) {
    case FetchAttribute::kEnvelope:
    case FetchAttribute::kRfc822Header: return LoadNeed::kHeader;
    case FetchAttribute::kRfc822:
    case FetchAttribute::kRfc822Text:
    case FetchAttribute::kBody:
    case FetchAttribute::kBodyStructure: return LoadNeed::kEverything;
    case FetchAttribute::kBodySection:
      return section_is_top_header(item.section) ? LoadNeed::kHeader : LoadNeed::kEverything;
    default: return LoadNeed::kNothing;
  }
}

std::string literal(std::string_view bytes) {
  return "{" + std::to_string(bytes.size()) + "}\r\n" + std::string(bytes);
}

// The message's bytes after its header block.
std::string_view text_of(const LoadedMessage& m) {
  std::string_view whole = *m.message;
  return whole.size() >= m.header.size() ? whole.substr(m.header.size()) : std::string_view();
}

std::vector<std::string_view> body_views(const LoadedMessage& m) {
  std::vector<std::string_view> out;
  if (m.decomposed) {
    for (const auto& b : m.decomposed->bodies) out.emplace_back(b);
  }
  return out;
}

}  // namespace

void ImapSession::fetch(const ImapCommand& c) {
  const auto& a = c.args<FetchArguments>();
  auto chosen = resolve(c.tag, a.set, c.uid);
  if (!chosen) return;
  std::vector<FetchItem> items = a.items;
  if (c.uid && std::none_of(items.begin(), items.end(), [](const FetchItem& i) {
        return i.attribute == FetchAttribute::kUid;
      })) {
    items.insert(items.begin(), FetchItem{FetchAttribute::kUid, {}, false, std::nullopt});
  }
  LoadNeed need = LoadNeed::kNothing;
  bool sets_seen = false;
  for (const auto& item : items) {
    need = std::max(need, need_of(item));
    sets_seen = sets_seen || fetch_item_sets_seen(item);
  }
  sets_seen = sets_seen && !selected_->read_only;
  std::vector<std::uint32_t> unseen;
  if (sets_seen) {
    for (auto& [seq, uid] : *chosen) {
      const store::Message* m = folder().by_uid(uid);
      if (m != nullptr && !m->flags.has(store::kSeen)) unseen.push_back(uid);
    }
  }
  std::weak_ptr<bool> alive = alive_;
  auto render = [this, alive, tag = c.tag, items, need, chosen = *chosen]() {
    std::vector<WalkItem> walk;
    for (auto& [seq, uid] : chosen) {
      const store::Message* m = folder().by_uid(uid);
      if (m != nullptr) walk.push_back(WalkItem{seq, *m});
    }
    auto each = [this, items](const WalkItem& w, const LoadedMessage* loaded) {
      // Flags as they are now (a FETCH that set \Seen shows it); the view learns them.
      const store::Message* now = selected_ ? folder().by_uid(w.message.uid) : nullptr;
      const store::Flags& flags = now != nullptr ? now->flags : w.message.flags;
      bool recent = w.message.uid >= selected_->recent_from;
      std::string out = "* " + std::to_string(w.sequence) + " FETCH (";
      bool first = true;
      for (const auto& item : items) {
        if (!first) out += ' ';
        first = false;
        switch (item.attribute) {
          case FetchAttribute::kUid: out += "UID " + std::to_string(w.message.uid); break;
          case FetchAttribute::kFlags:
            out += "FLAGS " + flags_of(flags, recent);
            selected_->view[w.sequence - 1].flags = flags;
            break;
          case FetchAttribute::kInternalDate:
            out += "INTERNALDATE " + format_date_time(w.message.ref.internal_date, 0);
            break;
          case FetchAttribute::kRfc822Size:
            out += "RFC822.SIZE " + std::to_string(w.message.ref.size);
            break;
          case FetchAttribute::kEnvelope:
            out += "ENVELOPE " + format_envelope(loaded->envelope);
            break;
          case FetchAttribute::kBody:
            out += "BODY " + format_body_structure(loaded->decomposed->layout.root, false);
            break;
          case FetchAttribute::kBodyStructure:
            out += "BODYSTRUCTURE " + format_body_structure(loaded->decomposed->layout.root, true);
            break;
          case FetchAttribute::kRfc822: out += "RFC822 " + literal(*loaded->message); break;
          case FetchAttribute::kRfc822Header:
            out += "RFC822.HEADER " + literal(loaded->header);
            break;
          case FetchAttribute::kRfc822Text:
            out += "RFC822.TEXT " + literal(text_of(*loaded));
            break;
          case FetchAttribute::kBodySection: {
            std::string bytes;
            if (loaded->decomposed) {
              auto views = body_views(*loaded);
              auto section = render_section(loaded->decomposed->layout, views, item.section);
              if (section.ok()) bytes = std::move(*section);
            } else {
              bytes = header_only_section(loaded->header, item.section);
            }
            out += format_fetch_item_name(item) + " " + literal(apply_partial(bytes, item.partial));
            break;
          }
        }
      }
      // A FETCH that set \Seen shows the new flags even when they were not asked for.
      auto& known = selected_->view[w.sequence - 1].flags;
      if (!(known == flags)) {
        out += " FLAGS " + flags_of(flags, recent);
        known = flags;
      }
      out += ")\r\n";
      send(out);
    };
    walk_messages(
        services_.loader(), std::move(walk), need, each,
        [this, alive, tag](std::optional<IoError> error) {
          if (alive.expired()) return;
          if (error) {
            services_.log_warning("IMAP FETCH for " + account_->user() + ": " + error->message);
            return finish(tag, ImapStatus::kNo, "[UNAVAILABLE] Some messages cannot be read now");
          }
          finish(tag, ImapStatus::kOk, "FETCH completed");
        },
        alive);
  };
  if (unseen.empty()) return render();
  store::SetFlags seen;
  seen.uids = store::UidSet::of(unseen);
  seen.mode = store::FlagMode::kAdd;
  seen.flags.system = store::kSeen;
  account_->append_to_folder(
      selected_->uidvalidity, seen, [this, alive, tag = c.tag, render](IoResult<void> r) {
        if (alive.expired()) return;
        if (!r.ok()) return finish(tag, ImapStatus::kNo, "[UNAVAILABLE] " + r.error().message);
        render();
      });
}

void ImapSession::search(const ImapCommand& c) {
  const auto& criteria = c.args<SearchCriteria>();
  if (criteria.charset) {
    std::string cs = *criteria.charset;
    std::transform(cs.begin(), cs.end(), cs.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
    if (cs != "UTF-8" && cs != "US-ASCII") {
      return finish(c.tag, ImapStatus::kNo, "[BADCHARSET (UTF-8 US-ASCII)] Unknown charset");
    }
  }
  LoadNeed need = LoadNeed::kNothing;
  switch (search_needs(criteria.key)) {
    case SearchNeeds::kFlagsOnly: break;
    case SearchNeeds::kHeader: need = LoadNeed::kHeader; break;
    case SearchNeeds::kText: need = LoadNeed::kEverything; break;
  }
  std::vector<WalkItem> walk;
  const auto& view = selected_->view;
  for (std::size_t i = 0; i < view.size(); ++i) {
    const store::Message* m = folder().by_uid(view[i].uid);
    if (m != nullptr) walk.push_back(WalkItem{static_cast<std::uint32_t>(i + 1), *m});
  }
  auto found = std::make_shared<std::vector<std::uint32_t>>();
  auto max_sequence = static_cast<std::uint32_t>(view.size());
  std::uint32_t max_uid = view.empty() ? 0 : view.back().uid;
  std::weak_ptr<bool> alive = alive_;
  auto each = [this, key = criteria.key, found, uid = c.uid, max_sequence, max_uid](
                  const WalkItem& w, const LoadedMessage* loaded) {
    std::vector<std::string_view> bodies;
    if (loaded != nullptr) bodies = body_views(*loaded);
    MatchContext context{
        .sequence = w.sequence,
        .uid = w.message.uid,
        .recent = w.message.uid >= selected_->recent_from,
        .flags = w.message.flags,
        .size = w.message.ref.size,
        .internal_date = w.message.ref.internal_date,
        .max_sequence = max_sequence,
        .max_uid = max_uid,
        .layout = loaded != nullptr && loaded->decomposed ? &loaded->decomposed->layout : nullptr,
        .header_block = loaded != nullptr ? std::string_view(loaded->header) : std::string_view(),
        .bodies = bodies,
    };
    if (matches(key, context)) found->push_back(uid ? w.message.uid : w.sequence);
  };
  walk_messages(
      services_.loader(), std::move(walk), need, each,
      [this, alive, tag = c.tag, found](std::optional<IoError> error) {
        if (alive.expired()) return;
        if (error) {
          return finish(tag, ImapStatus::kNo, "[UNAVAILABLE] Some messages cannot be read now");
        }
        std::string line = "SEARCH";
        for (std::uint32_t n : *found) line += " " + std::to_string(n);
        untagged(line);
        finish(tag, ImapStatus::kOk, "SEARCH completed");
      },
      alive);
}

}  // namespace post::email
