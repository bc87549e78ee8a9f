// HostServices: the POST services as plugins reach them (post/sdk.h: store_*, log_*, notify_*,
// scribe_*; log_share from ABI 1.1). The PluginManager checks and copies a plugin's arguments, then
// calls this interface on the executor; the daemon implements it over the node's secure store,
// logs, notification service and Scribe (host/daemon/plugin_services.h), and tests use fakes.
//
// Every call names the plugin (its descriptor's name) and is scoped by it: a topic or a log
// name `n` of plugin `p` is the scoped name "plugin/<p>/<n>" (scoped_name()), so that two
// plugins never share a Scribe group or a log by accident; notifications travel with the
// plugin's name as their application, and reach only the handler of that name. The manager
// passes only plugin names that can scope (check_scope_name()), and names and payloads within
// the limits below.
//
// Threading: call every method on the node's executor. Completions and handlers run there,
// exactly once for a completion; a completion may run before the call returns. Errors carry a
// ServiceErrc code (which the manager turns into the matching POST_ERR_*) and a message that
// says what failed and why; any other code reaches plugins as POST_ERR_FAILED.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "host/core/bytes.h"
#include "host/core/errors.h"
#include "host/core/id.h"
#include "host/core/result.h"

namespace post::plugin {

// ---- Limits (each is documented to plugins in post/sdk.h) ----------------------------------

// A plugin name that scopes services: also a notification's application name, which is
// bounded at 64 bytes on the wire (host/post/notification.h, kMaxApplicationNameBytes).
inline constexpr std::size_t kMaxServiceScopeBytes = 64;
// Topic and log names: short labels, not data; the scoped name stays well inside a block.
inline constexpr std::size_t kMaxTopicBytes = 128;
inline constexpr std::size_t kMaxLogNameBytes = 128;
// A user's e-mail address (RFC 5321 allows at most 254 octets).
inline constexpr std::size_t kMaxUserBytes = 254;
// The largest object the secure store takes (host/post/manifest.h, kMaxObjectBytes).
inline constexpr std::uint64_t kMaxStoreObjectBytes = std::uint64_t{1} << 30;
// A content handle (an Id) and a content key (AES-256) are 32 bytes each.
inline constexpr std::size_t kStoreHandleBytes = 32;
inline constexpr std::size_t kStoreKeyBytes = 32;
// The largest log record (host/post/log.h, kMaxRecordBytes): larger data goes into the
// secure store and the record holds its handle and key.
inline constexpr std::size_t kMaxLogRecordBytes = 64 * 1024;
// A shared log is named in its writer's identity block by its scoped name, and the identity
// holds names of at most this many bytes (host/post/account.h, services::kMaxLogNameBytes):
// "plugin/" + plugin + "/" + log name must fit.
inline constexpr std::size_t kMaxSharedLogScopedBytes = 64;
// Records one log_read hands over at most; a reader pages with `from`.
inline constexpr std::uint32_t kMaxLogReadRecords = 1024;
// A notification's payload (host/post/notification.h, kMaxAppDataBytes).
inline constexpr std::size_t kMaxNotificationPayloadBytes = 16 * 1024;
// A publication's or an anycast's payload (host/scribe/scribe_config.h, kMaxPayloadBytes).
inline constexpr std::size_t kMaxScribePayloadBytes = 1024 * 1024;

// ---- Errors ----------------------------------------------------------------------------------

// Never renumber; add new codes at the end. Each maps to the POST_ERR_* of the same name.
enum class ServiceErrc {
  kInvalidArgument = 1,  // e.g. a sender or writer this node does not serve
  kNotFound,             // no such content, recipient, or no member took an anycast
  kUnavailable,          // the service cannot do this here (e.g. read a foreign log)
  kIoError,              // a storage failure
  kTooLarge,             // over a limit of the service
  kFailed,               // anything else; the message says what
};

const std::error_category& service_category();

inline std::error_code make_error_code(ServiceErrc e) {
  return {static_cast<int>(e), service_category()};
}

// ---- Scoping ---------------------------------------------------------------------------------

// "plugin/<plugin>/<name>": the name of `plugin`'s topic or log `name` in the node's services.
// Unambiguous because scoping plugin names hold no '/'.
std::string scoped_name(std::string_view plugin, std::string_view name);

// Whether `plugin` can scope services: 1 to kMaxServiceScopeBytes bytes, no '/', no control
// characters. Refusals say why, naming the plugin (ServiceErrc::kInvalidArgument).
Status check_scope_name(std::string_view plugin);

// ---- Values ----------------------------------------------------------------------------------

// What store_put gives back: the handle and key that fetch the content.
struct StoredContent {
  Id handle;
  Bytes key;  // kStoreKeyBytes
};

struct LogEntry {
  std::uint64_t index = 0;  // 0 for a log's first record
  Bytes record;
};

// A notification addressed to a plugin, for one of the users this node serves.
struct PluginNotification {
  std::string recipient;  // the local user's e-mail address
  std::string sender;     // the sender's e-mail address (checked against its certificate)
  Bytes payload;
};

// A plugin's membership of one topic. on_anycast may be empty: the member passes every
// anycast on. Both run on the executor and must not block.
struct TopicMember {
  std::function<void(ByteView payload)> on_message;
  std::function<bool(ByteView payload)> on_anycast;
};

// Returns false when no instance of the plugin could take the notification now (none is
// serving): the service then keeps it, as for a plugin without a handler.
using NotificationHandler = std::function<bool(const PluginNotification&)>;

// ---- The interface ---------------------------------------------------------------------------

class HostServices {
 public:
  virtual ~HostServices() = default;

  // Stores `content` in the secure store (convergent encryption over PAST); `done` gets the
  // handle and key, or the error.
  virtual void store_put(const std::string& plugin, Bytes content,
                         std::function<void(Result<StoredContent>)> done) = 0;
  // Fetches the content of `handle`, opened with `key` (kStoreKeyBytes); kNotFound when PAST
  // has no such block, kFailed when it does not open under the key.
  virtual void store_fetch(const std::string& plugin, const Id& handle, Bytes key,
                           std::function<void(Result<Bytes>)> done) = 0;

  // Appends `record` to the log `log_name` of plugin `plugin` of `user`, who must be a user
  // this node serves (kInvalidArgument otherwise). Appends to one log complete in the order
  // called; `done` gets the record's index.
  virtual void log_append(const std::string& plugin, const std::string& user,
                          const std::string& log_name, Bytes record,
                          std::function<void(Result<std::uint64_t>)> done) = 0;
  // Reads at most `max_records` records of that log from index `from` on, oldest first,
  // checked against the writer's signatures. An empty vector: the log has no record at or
  // past `from` (or none at all). For a user this node does not serve, only a log the user
  // shared (log_share) can be read: kNotFound for an unknown user or a log not shared. An
  // implementation that cannot read `user`'s logs says why (kUnavailable).
  virtual void log_read(const std::string& plugin, const std::string& user,
                        const std::string& log_name, std::uint64_t from, std::uint32_t max_records,
                        std::function<void(Result<std::vector<LogEntry>>)> done) = 0;
  // Publishes that log of `user` (served here: kInvalidArgument otherwise) so that any node
  // can read it: the user's identity names its head under scoped_name(plugin, log_name),
  // which must fit kMaxSharedLogScopedBytes (kTooLarge). `done` runs once the identity is
  // stored (kTooLarge when the identity names services::kMaxLogHeads logs already).
  virtual void log_share(const std::string& plugin, const std::string& user,
                         const std::string& log_name, std::function<void(Status)> done) = 0;

  // Sends `payload` as a notification of application `plugin` from `sender` (a user this node
  // serves: kInvalidArgument otherwise) to user `recipient`. `done` runs once the recipient's
  // node or its delegates took it (kNotFound for an unknown recipient).
  virtual void notify_send(const std::string& plugin, const std::string& sender,
                           const std::string& recipient, Bytes payload,
                           std::function<void(Status)> done) = 0;
  // From now on, notifications of application `plugin` for the users this node serves go to
  // `handler`; an empty handler stops that. Replaces an earlier handler of that plugin.
  // Notifications that no handler took are kept (within limits of the implementation) and
  // offered to the next handler set, oldest first.
  virtual void set_notification_handler(const std::string& plugin, NotificationHandler handler) = 0;

  // Makes this node a member of `plugin`'s topic, delivering to `member` (replacing the
  // member when already subscribed) until scribe_unsubscribe.
  virtual void scribe_subscribe(const std::string& plugin, const std::string& topic,
                                TopicMember member) = 0;
  // Ends the membership; unknown topics are ignored. `member` is not called afterwards.
  virtual void scribe_unsubscribe(const std::string& plugin, const std::string& topic) = 0;
  // Sends `payload` to every member of the topic; `done` runs once it has left this node.
  virtual void scribe_publish(const std::string& plugin, const std::string& topic, Bytes payload,
                              std::function<void(Status)> done) = 0;
  // Offers `payload` to the topic's members until one takes it; `done` gets the node id of
  // the member that did, or kNotFound when none did.
  virtual void scribe_anycast(const std::string& plugin, const std::string& topic, Bytes payload,
                              std::function<void(Result<Id>)> done) = 0;
};

}  // namespace post::plugin

template <>
struct std::is_error_code_enum<post::plugin::ServiceErrc> : std::true_type {};
