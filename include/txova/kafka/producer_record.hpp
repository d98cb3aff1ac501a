#pragma once
// A record as the producer sends it, without an envelope: what dead letters and replays are
// written with (producer::async_send).
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace txova::kafka {

struct producer_record {
  std::string topic{};
  std::optional<std::string> key{};    ///< nullopt: no key (not the same as an empty one)
  std::optional<std::string> value{};  ///< nullopt: a tombstone
  std::vector<std::pair<std::string, std::string>> headers{};
  std::optional<std::int32_t> partition{};  ///< nullopt: the configured partitioner picks by key
};

/// What a record weighs against a broker's message size limit: key, value and headers plus
/// the record format's own overhead (an upper bound of it).
std::size_t record_size(const producer_record& r) noexcept;

}  // namespace txova::kafka
