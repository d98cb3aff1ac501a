#pragma once
// A record as the producer sends it, without an envelope: what dead letters and replays are
// written with (producer::async_send).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
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

namespace detail {
/// Sets header `name` to `value`: the first header of that name is replaced, else one is added
/// at the end (a name set twice is sent once, with its last value).
void set_header(std::vector<std::pair<std::string, std::string>>& headers, std::string_view name, std::string_view value);
}  // namespace detail

}  // namespace txova::kafka
