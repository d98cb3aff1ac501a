#pragma once
// A record as the consumer fetched it: where it came from and its bytes, untouched.
//
// A record read from librdkafka owns the fetched message (no copy of key or value is made) and
// keeps the librdkafka client alive while it lives. A record can also own plain data
// (`record_data`): what tests, the test kit and replays hand to handlers.
#include <txova/kafka/timestamp.hpp>

#include <boost/system/error_code.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace txova::kafka {

/// A record's parts, for records that do not come from a broker.
struct record_data {
  std::string topic{};
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::optional<std::string> key{};    ///< nullopt: the record has no key
  std::optional<std::string> value{};  ///< nullopt: a tombstone (null value)
  std::vector<std::pair<std::string, std::string>> headers{};
  timestamp broker_time{};
};

namespace detail {
/// How a record reads the storage it owns (a librdkafka message, a record_data, ...).
struct record_storage {
  void (*destroy)(void* storage) noexcept;
  /// Appends every header in order (a header without a value has an empty one).
  void (*headers)(const void* storage, std::vector<std::pair<std::string, std::string>>& out);
  /// The first value of header `name`, if any: a view into the storage.
  std::optional<std::string_view> (*header)(const void* storage, std::string_view name);
};
/// What the maker of a record read off its storage (views into it).
struct record_fields {
  std::string_view topic{};
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  std::string_view key{};
  std::string_view value{};
  bool has_key = false;
  bool has_value = false;
  std::int64_t timestamp_ms = -1;
  boost::system::error_code error{};  ///< librdkafka could not read the record
  std::string_view error_message{};
};
}  // namespace detail

class consumed_record {
public:
  consumed_record() = default;
  /// A record that owns `data`.
  explicit consumed_record(record_data data);
  /// A record over `storage`, read through `ops`, that destroys it; `owner` lives as long.
  consumed_record(void* storage, const detail::record_storage& ops, const detail::record_fields& fields,
                  std::shared_ptr<void> owner) noexcept;
  consumed_record(consumed_record&& other) noexcept;
  consumed_record& operator=(consumed_record&& other) noexcept;
  ~consumed_record();

  std::string_view topic() const noexcept { return f_.topic; }
  std::int32_t partition() const noexcept { return f_.partition; }
  std::int64_t offset() const noexcept { return f_.offset; }
  /// The key's bytes (empty when there is none: has_key() tells the two apart).
  std::string_view key() const noexcept { return f_.key; }
  bool has_key() const noexcept { return f_.has_key; }
  /// The value's bytes (empty for a tombstone: is_tombstone() tells the two apart).
  std::string_view value() const noexcept { return f_.value; }
  /// A null value: Kafka's delete marker for compacted topics, never an envelope.
  bool is_tombstone() const noexcept { return !f_.has_value && !f_.error; }
  /// The record's headers in order (a header without a value has an empty one).
  std::vector<std::pair<std::string, std::string>> headers() const;
  /// The first value of header `name`, if any.
  std::optional<std::string> header(std::string_view name) const;
  /// The same without a copy: a view into the record, valid while it lives.
  std::optional<std::string_view> header_view(std::string_view name) const;
  /// Set when librdkafka could not read this record (then value() is empty).
  boost::system::error_code error() const noexcept { return f_.error; }
  /// librdkafka's reason for error(), empty without one.
  std::string_view error_message() const noexcept { return f_.error_message; }
  /// The broker's timestamp of the record (the epoch when it has none).
  timestamp broker_time() const noexcept;
  explicit operator bool() const noexcept { return storage_ != nullptr; }

private:
  void reset() noexcept;
  std::shared_ptr<void> owner_;  // outlives the storage
  void* storage_ = nullptr;
  const detail::record_storage* ops_ = nullptr;
  detail::record_fields f_;
};

}  // namespace txova::kafka
