#pragma once
// The test kit's in-memory event store: an append-only log per topic and partition, what a
// recording producer (recording_producer.hpp) writes, queryable by type, key, correlation id and
// offset, so a test can assert which events a request produced, in which order, with which
// causation chain. Safe to use from several threads.
#include <txova/kafka/envelope.hpp>
#include <txova/kafka/record.hpp>

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace txova::kafka::testing {

/// One stored record: where it went and what it carried.
struct stored_record {
  record_data record;                 ///< topic, partition, offset, key, value, headers
  std::optional<envelope> event{};    ///< the value read as an envelope, when it is one
  std::uint64_t sequence = 0;         ///< its place in the store, across topics (0, 1, ...)
};

class event_store {
public:
  /// Appends `r` at the end of its partition (its offset is set here) and returns the copy kept.
  stored_record append(record_data r);

  /// Everything, in append order.
  std::vector<stored_record> all() const;
  std::vector<stored_record> in_topic(std::string_view topic) const;
  std::vector<stored_record> in_partition(std::string_view topic, std::int32_t partition) const;
  /// Envelopes only, by their type (an exact type, or a pattern like "ride.*" or "*").
  std::vector<envelope> events(std::string_view type_pattern = "*") const;
  std::vector<envelope> with_correlation(std::string_view correlation_id) const;
  std::vector<stored_record> with_key(std::string_view key) const;
  std::optional<stored_record> at(std::string_view topic, std::int32_t partition, std::int64_t offset) const;
  /// `e` and every event it caused, directly or not (causation ids), in append order.
  std::vector<envelope> caused_by(const envelope& e) const;

  /// The next offset of a partition (0 when it has none).
  std::int64_t end_offset(std::string_view topic, std::int32_t partition) const;
  std::size_t size() const;
  void clear();

private:
  mutable std::mutex mutex_;
  std::vector<stored_record> log_;
  std::map<std::pair<std::string, std::int32_t>, std::int64_t, std::less<>> next_offset_;
};

}  // namespace txova::kafka::testing
