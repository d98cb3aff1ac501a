#pragma once
// Reads what the consumer needs from librdkafka's statistics JSON (per-partition lag).
// Sans-IO; the JSON is untrusted: anything malformed or missing is skipped, never thrown.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace txova::kafka::detail {

struct partition_statistics {
  std::string topic;
  std::int32_t partition = -1;
  std::int64_t consumer_lag = -1;  ///< librdkafka's consumer_lag (-1: unknown)
  std::int64_t hi_offset = -1;     ///< high watermark (-1: unknown)
};

/// What the consumer reads of one statistics document.
struct client_statistics {
  std::vector<partition_statistics> partitions;  ///< every real partition (not librdkafka's -1)
  int brokers_known = 0;  ///< brokers of the cluster (node id >= 0; bootstrap entries are not)
  int brokers_up = 0;     ///< of those, connected ("UP")
};

/// Reads `json` (librdkafka's statistics); anything malformed is skipped.
client_statistics parse_statistics(std::string_view json);

/// Every real partition (not librdkafka's internal partition -1) of every topic in `json`.
std::vector<partition_statistics> parse_partition_statistics(std::string_view json);

}  // namespace txova::kafka::detail
