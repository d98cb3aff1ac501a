#pragma once
// The event log (docs/event-log.md): every event of a set of topics kept with where it came from,
// for audit and replay. A store interface (SQLite is the embedded default, event_log_sqlite.hpp)
// and what the service and the CLI ask of it. Offsets are stored in the same transaction as the
// events they end, so the store, not the group, says where each partition resumes.
#include <txova/kafka/envelope.hpp>
#include <txova/kafka/error.hpp>
#include <txova/kafka/record.hpp>
#include <txova/kafka/timestamp.hpp>

#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace txova::kafka {

/// One stored record: where it came from, what it carried, and the envelope read from it.
struct logged_event {
  std::int64_t sequence = 0;  ///< its place in the store (assigned by append)
  std::string topic{};
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::optional<std::string> key{};
  std::vector<std::pair<std::string, std::string>> headers{};
  timestamp broker_time{};
  std::optional<envelope> event{};  ///< the envelope, when the value was one
  std::string value{};              ///< the record's value, as fetched
  std::string error{};              ///< why the value is not an envelope (kept all the same: nothing is skipped)
};

/// Where a partition resumes: the offset after the last record stored for it.
struct stored_offset {
  std::string topic{};
  std::int32_t partition = 0;
  std::int64_t next_offset = 0;
};

/// What to find. Every field set must match. Results come in store order, or by the envelope's
/// time when `since` or `until` is set (then page with `since`, not `after_sequence`).
struct event_query {
  std::optional<std::string> correlation_id{};
  std::optional<std::string> key{};
  std::optional<std::string> type{};  ///< an exact type, or a pattern: "ride.*", "*"
  std::optional<timestamp> since{};   ///< the envelope's timestamp, inclusive
  std::optional<timestamp> until{};   ///< exclusive
  std::optional<std::string> topic{};
  std::int64_t after_sequence = 0;    ///< for paging: only events stored after this one
  std::size_t limit = 10000;
};

/// Old events the store drops: older than max_age (by the envelope's time), beyond max_events.
struct retention {
  std::optional<std::chrono::seconds> max_age{};
  std::optional<std::uint64_t> max_events{};
};

class event_log_store {
public:
  virtual ~event_log_store() = default;
  /// Stores `events` and the partitions' new offsets in one transaction: all or none. An event
  /// already stored (same topic, partition, offset) is not stored twice.
  virtual diagnostic append(std::vector<logged_event>& events, const std::vector<stored_offset>& offsets) = 0;
  /// Where a partition resumes (nullopt: nothing stored for it).
  virtual boost::system::result<std::optional<std::int64_t>, diagnostic> next_offset(std::string_view topic,
                                                                                        std::int32_t partition) = 0;
  virtual boost::system::result<std::vector<logged_event>, diagnostic> query(const event_query& q) = 0;
  /// Deletes at most `batch` events that `r` no longer keeps; how many it deleted.
  virtual boost::system::result<std::size_t, diagnostic> prune(const retention& r, std::size_t batch) = 0;
  virtual boost::system::result<std::uint64_t, diagnostic> count() = 0;
};

/// A chain as a tree: each event under the one that caused it (causation id), in store order.
/// Events whose cause is not in `chain` are roots.
struct causation_node {
  logged_event event;
  std::vector<causation_node> children{};
};
std::vector<causation_node> causation_tree(std::vector<logged_event> chain);

/// A record made into a logged_event (the envelope read leniently, as a consumer reads it).
logged_event to_logged_event(const consumed_record& r);

}  // namespace txova::kafka
