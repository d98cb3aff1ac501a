#include <txova/kafka/dlq.hpp>

#include <txova/kafka/detail/json_text.hpp>

#include <boost/json/value.hpp>

#include <array>

namespace txova::kafka {
namespace {

bool is_json_object(std::string_view text) {
  auto v = detail::parse_strict(text, {}, "dead-lettered value");
  return v && v->is_object();
}

std::string base64(std::string_view in) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned n = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
    out += alphabet[n & 63];
  }
  if (const std::size_t rest = in.size() - i; rest > 0) {
    unsigned n = static_cast<unsigned char>(in[i]) << 16;
    if (rest == 2) n |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += rest == 2 ? alphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace

std::string to_json(const dead_letter& d) {
  std::string out = "{\"original_topic\":";
  detail::append_quoted(out, d.original_topic);
  out += ",\"original_partition\":";
  detail::append_number(out, static_cast<std::int64_t>(d.original_partition));
  out += ",\"original_offset\":";
  detail::append_number(out, static_cast<std::int64_t>(d.original_offset));
  out += ",\"original_key\":";
  detail::append_quoted(out, d.original_key);
  if (is_json_object(d.original_value)) {
    out += ",\"envelope\":";
    out += d.original_value;
  } else {
    out += ",\"raw_base64\":\"";
    out += base64(d.original_value);
    out += '"';
  }
  out += ",\"error_message\":";
  detail::append_quoted(out, d.error_message);
  out += ",\"attempt_count\":";
  detail::append_number(out, static_cast<std::int64_t>(d.attempt_count));
  out += ",\"first_failure\":";
  out += '"';
  append_timestamp(out, d.first_failure);
  out += "\",\"last_failure\":\"";
  append_timestamp(out, d.last_failure);
  out += '"';
  if (d.consumer_group) {
    out += ",\"consumer_group\":";
    detail::append_quoted(out, *d.consumer_group);
  }
  out += '}';
  return out;
}

std::vector<std::pair<std::string, std::string>> headers(const dead_letter& d) {
  std::vector<std::pair<std::string, std::string>> h;
  h.reserve(8);
  const auto add = [&h](std::string_view name, std::string value) {
    auto& [k, v] = h.emplace_back();
    k.assign(name.data(), name.size());
    v = std::move(value);
  };
  add(dlt_headers::original_topic, d.original_topic);
  add(dlt_headers::original_partition, std::to_string(d.original_partition));
  add(dlt_headers::original_offset, std::to_string(d.original_offset));
  add(dlt_headers::exception_message, d.error_message);
  add(dlt_headers::attempt_count, std::to_string(d.attempt_count));
  add(dlt_headers::first_failure, format_timestamp(d.first_failure));
  add(dlt_headers::last_failure, format_timestamp(d.last_failure));
  if (d.consumer_group) add(dlt_headers::original_consumer_group, *d.consumer_group);
  return h;
}

}  // namespace txova::kafka
