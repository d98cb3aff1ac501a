#pragma once
// Dead-letter records: what failed, where it came from and why, in the JSON body and as Kafka
// headers (Spring Kafka's kafka_dlt-* names where one fits), so tools that read only headers
// see the failure too. Sans-IO: building a record touches no broker.
//
// Body: {"original_topic":"txova.rides.v1","original_partition":3,"original_offset":42,
//        "original_key":"ride-1","envelope":{...the event, byte for byte...},
//        "error_message":"...","attempt_count":4,"first_failure":"...Z","last_failure":"...Z",
//        "consumer_group":"billing-group"}
// When the original bytes are not a JSON object (poison input), "envelope" is absent and
// "raw_base64" holds them. partition/offset are -1 when the event never reached a partition
// (a producer-side failure); consumer_group is absent on the producer side.
#include <txova/kafka/timestamp.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace txova::kafka {

/// One failed record and its failure, as written to a dead-letter topic.
struct dead_letter {
  std::string original_topic;
  std::int32_t original_partition = -1;
  std::int64_t original_offset = -1;
  std::string original_key;
  std::string original_value;  ///< the record's bytes: an envelope's JSON, or whatever arrived
  std::string error_message;
  int attempt_count = 1;
  timestamp first_failure{};
  timestamp last_failure{};
  std::optional<std::string> consumer_group;
};

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
}  // namespace dlt_headers

/// The record's JSON body (see above). An original value that is a JSON object is embedded
/// verbatim, so the envelope inside is byte-identical to what was published.
std::string to_json(const dead_letter& d);

/// The failure as headers, in a fixed order.
std::vector<std::pair<std::string, std::string>> headers(const dead_letter& d);

}  // namespace txova::kafka
