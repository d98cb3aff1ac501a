#include <txova/kafka/detail/statistics.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <charconv>

namespace txova::kafka::detail {
namespace {

std::int64_t integer_or(const boost::json::object& o, std::string_view key, std::int64_t fallback) {
  const auto* v = o.if_contains(key);
  if (!v) return fallback;
  if (const auto* i = v->if_int64()) return *i;
  if (const auto* u = v->if_uint64()) return static_cast<std::int64_t>(*u);
  return fallback;
}

}  // namespace

std::vector<partition_statistics> parse_partition_statistics(std::string_view json) {
  return parse_statistics(json).partitions;
}

client_statistics parse_statistics(std::string_view json) {
  client_statistics stats;
  auto& out = stats.partitions;
  boost::system::error_code ec;
  const boost::json::value root = boost::json::parse(json, ec);
  if (ec || !root.is_object()) return stats;
  if (const auto* brokers = root.as_object().if_contains("brokers"); brokers && brokers->is_object())
    for (const auto& [name, bv] : brokers->as_object()) {
      if (!bv.is_object() || integer_or(bv.as_object(), "nodeid", -1) < 0) continue;
      ++stats.brokers_known;
      const auto* state = bv.as_object().if_contains("state");
      if (state && state->is_string() && state->as_string() == "UP") ++stats.brokers_up;
    }
  const auto* topics = root.as_object().if_contains("topics");
  if (!topics || !topics->is_object()) return stats;
  for (const auto& [topic, tv] : topics->as_object()) {
    if (!tv.is_object()) continue;
    const auto* parts = tv.as_object().if_contains("partitions");
    if (!parts || !parts->is_object()) continue;
    for (const auto& [pname, pv] : parts->as_object()) {
      std::int32_t partition = -1;
      const auto r = std::from_chars(pname.data(), pname.data() + pname.size(), partition);
      if (r.ec != std::errc{} || r.ptr != pname.data() + pname.size() || partition < 0 || !pv.is_object()) continue;
      const auto& po = pv.as_object();
      out.push_back({std::string(topic), partition, integer_or(po, "consumer_lag", -1), integer_or(po, "hi_offset", -1)});
    }
  }
  return stats;
}

}  // namespace txova::kafka::detail
