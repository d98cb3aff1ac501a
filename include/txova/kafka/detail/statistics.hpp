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

/// Every real partition (not librdkafka's internal partition -1) of every topic in `json`.
std::vector<partition_statistics> parse_partition_statistics(std::string_view json);

}  // namespace txova::kafka::detail
