#pragma once
// Dead-letter records: what failed, where it came from and why, in the JSON body and as Kafka
// headers (Spring Kafka's kafka_dlt-* names where one fits), so tools that read only headers
// see the failure too. Sans-IO: building a record touches no broker. Producer and consumer
// write their dead letters with the one builder here (dead_letter_record).
//
// Body: {"original_topic":"txova.rides.v1","original_partition":3,"original_offset":42,
//        "original_key":"ride-1","envelope":{...the event, byte for byte...},
//        "error_message":"...","attempt_count":4,"first_failure":"...Z","last_failure":"...Z",
//        "consumer_group":"billing-group"}
// The original is kept exactly:
//  - a value that is a JSON object is embedded verbatim as "envelope"; any other value is
//    "raw_base64"; a tombstone (null value) is "tombstone":true, never confused with an empty
//    value ("raw_base64":"");
//  - a key that is valid UTF-8 is "original_key" (null when the record had none); any other key
//    is "original_key_base64";
//  - a record too large to be embedded in a dead letter that fits `max_bytes` is left out:
//    "value_omitted":true and "original_value_bytes":N, and original_topic, partition and offset
//    say where the bytes are.
// partition/offset are -1 when the event never reached a partition (a producer-side failure);
// consumer_group is absent on the producer side.
#include <txova/kafka/error.hpp>
#include <txova/kafka/producer_record.hpp>
#include <txova/kafka/record.hpp>
#include <txova/kafka/timestamp.hpp>

#include <boost/system/result.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace txova::kafka {

/// One failed record and its failure, as written to a dead-letter topic.
struct dead_letter {
  std::string original_topic{};
  std::int32_t original_partition = -1;
  std::int64_t original_offset = -1;
  std::optional<std::string> original_key{};    ///< nullopt: the record had no key
  std::optional<std::string> original_value{};  ///< the record's bytes; nullopt: a tombstone
  std::string error_message{};
  int attempt_count = 1;
  timestamp first_failure{};
  timestamp last_failure{};
  std::optional<std::string> consumer_group{};
};

namespace detail {
/// A header a DLQ writer of ours (or Spring's) adds for the failure: kafka_dlt-*, txova_dlt-*.
bool is_failure_header(std::string_view name) noexcept;
}  // namespace detail

/// Header names. Partition, offset and counts are decimal text (Spring writes binary ints; text
/// reads the same from Go, kcat and the Kafka console tools).
namespace dlt_headers {
inline constexpr std::string_view original_topic = "kafka_dlt-original-topic";
inline constexpr std::string_view original_partition = "kafka_dlt-original-partition";
inline constexpr std::string_view original_offset = "kafka_dlt-original-offset";
inline constexpr std::string_view original_consumer_group = "kafka_dlt-original-consumer-group";
inline constexpr std::string_view exception_message = "kafka_dlt-exception-message";
inline constexpr std::string_view attempt_count = "txova_dlt-attempt-count";
inline constexpr std::string_view first_failure = "txova_dlt-first-failure";
inline constexpr std::string_view last_failure = "txova_dlt-last-failure";
inline constexpr std::string_view value_omitted = "txova_dlt-value-omitted";
}  // namespace dlt_headers

/// How a dead letter carries the original value.
enum class dead_letter_value {
  embedded,  ///< the original bytes, as "envelope" or "raw_base64" (or "tombstone")
  omitted,   ///< left out for size: "value_omitted", "original_value_bytes"
};

/// The record's JSON body (see above). An original value that is a JSON object is embedded
/// verbatim, so the envelope inside is byte-identical to what was published.
std::string to_json(const dead_letter& d, dead_letter_value value = dead_letter_value::embedded);

/// The failure as headers, in a fixed order.
std::vector<std::pair<std::string, std::string>> headers(const dead_letter& d);

/// The record to write to `dlq_topic` for `d`: keyed by the original key, the body, the failure
/// headers, then `original_headers` (minus earlier kafka_dlt-* and txova_dlt-* ones, which the
/// new failure replaces). When that would weigh more than `max_bytes` (record_size), the
/// original value is omitted, then the original headers, then the error message is cut to
/// 1 KiB: a dead letter is always written, never dropped for its size.
producer_record dead_letter_record(const dead_letter& d, std::string dlq_topic,
                                   const std::vector<std::pair<std::string, std::string>>& original_headers,
                                   std::size_t max_bytes);

// ---- reading dead letters back (the replayer, `txova dlq`) --------------------------------

/// Who wrote a dead letter.
enum class dead_letter_format {
  txova,    ///< ours: the JSON body above and the txova_dlt-* headers
  spring,   ///< Spring Kafka: the original value; kafka_dlt-original-partition as a 4-byte and
            ///< -offset as an 8-byte big-endian int (decimal text is read too)
  connect,  ///< Kafka Connect: the original value; __connect.errors.* text headers
};
std::string_view to_string(dead_letter_format f) noexcept;

/// Headers a replay adds to the record it republishes (replacing earlier ones).
namespace replay_headers {
inline constexpr std::string_view replay_count = "txova-replay-count";    ///< decimal: replays so far, this one included
inline constexpr std::string_view replayed_from = "txova-replayed-from";  ///< "<dlq topic>/<partition>/<offset>"
}  // namespace replay_headers

/// A dead letter as read from its DLQ.
struct decoded_dead_letter {
  dead_letter failure{};  ///< where the record came from, its bytes and why it failed
  dead_letter_format format = dead_letter_format::txova;
  /// The original record's headers (without the failure headers a DLQ writer adds).
  std::vector<std::pair<std::string, std::string>> original_headers{};
  int replay_count = 0;                     ///< txova-replay-count of the original record (0: never replayed)
  std::optional<std::string> event_type{};  ///< the original envelope's type, when the value is one
  bool value_omitted = false;               ///< the DLQ writer left the value out for size
  std::string dlq_topic{};                  ///< where this dead letter was read
  std::int32_t dlq_partition = -1;
  std::int64_t dlq_offset = -1;
};

/// Reads a DLQ record of any of the three formats. A record that is none of them (no original
/// topic in its body or headers) or a malformed one is error::not_a_dead_letter, and the message
/// says what is missing or wrong, with the value.
boost::system::result<decoded_dead_letter, diagnostic> decode_dead_letter(const consumed_record& r);

/// Which dead letters a replay or a listing takes; every set field must match.
struct dead_letter_filter {
  std::vector<std::string> types{};  ///< route patterns ("ride.*", "ride.completed", "*"); empty: any
  std::string error_contains{};      ///< a substring of the error message; empty: any
  std::string original_topic{};      ///< empty: any
  std::optional<std::int32_t> partition{};
  std::optional<std::int64_t> min_offset{}, max_offset{};  ///< original offsets, inclusive
  std::optional<std::string> key{};
  std::optional<timestamp> failed_after{}, failed_before{};  ///< the last failure, inclusive

  bool matches(const decoded_dead_letter& d) const;
};

/// The record a replay republishes for `d`: the original key, value and headers, plus
/// txova-replay-count (one more) and txova-replayed-from, to `to_topic` (empty: the original
/// topic). nullopt when the value was omitted (it is no longer in the DLQ record).
std::optional<producer_record> replay_record(const decoded_dead_letter& d, std::string_view to_topic = {});

/// The headers a replay republishes a record with: `original` without its replay headers (and
/// with one trace), then txova-replay-count (`replays_so_far` + 1) and txova-replayed-from =
/// `replayed_from`. What replay_record and the event log's replay (`txova events --replay-to`) write.
std::vector<std::pair<std::string, std::string>> replay_headers_for(const std::vector<std::pair<std::string, std::string>>& original,
                                                                    int replays_so_far, std::string_view replayed_from);
/// txova-replay-count of `headers` (0 when absent or not a positive number).
int replay_count_of(const std::vector<std::pair<std::string, std::string>>& headers) noexcept;

}  // namespace txova::kafka
