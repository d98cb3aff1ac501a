#include <txova/kafka/dlq.hpp>
#include <txova/kafka/trace_context.hpp>

#include <txova/kafka/detail/base64.hpp>
#include <txova/kafka/detail/json_text.hpp>

#include <boost/json/value.hpp>

namespace txova::kafka {
namespace {

bool is_json_object(std::string_view text) {
  auto v = detail::parse_strict(text, {text.size() + 1, 64}, "dead-lettered value");
  return v && v->is_object();
}

}  // namespace

bool detail::is_failure_header(std::string_view name) noexcept {
  return name.starts_with("kafka_dlt-") || name.starts_with("txova_dlt-");
}

void detail::set_header(std::vector<std::pair<std::string, std::string>>& headers, std::string_view name,
                        std::string_view value) {
  for (auto& [k, v] : headers)
    if (k == name) {
      v.assign(value);
      return;
    }
  headers.emplace_back(name, value);
}

std::size_t record_size(const producer_record& r) noexcept {
  // Kafka's record format: a varint-framed record (at most ~25 bytes of its own) in a batch
  // whose header is 61 bytes; headers cost their bytes plus two varints each.
  std::size_t n = 128 + (r.key ? r.key->size() : 0) + (r.value ? r.value->size() : 0);
  for (const auto& [k, v] : r.headers) n += k.size() + v.size() + 10;
  return n;
}

std::string to_json(const dead_letter& d, dead_letter_value value) {
  std::string out = "{\"original_topic\":";
  detail::append_quoted(out, d.original_topic);
  out += ",\"original_partition\":";
  detail::append_number(out, static_cast<std::int64_t>(d.original_partition));
  out += ",\"original_offset\":";
  detail::append_number(out, static_cast<std::int64_t>(d.original_offset));
  if (!d.original_key) {
    out += ",\"original_key\":null";
  } else if (detail::is_valid_utf8(*d.original_key)) {
    out += ",\"original_key\":";
    detail::append_quoted(out, *d.original_key);
  } else {
    out += ",\"original_key_base64\":\"";
    out += detail::base64(*d.original_key);
    out += '"';
  }
  if (!d.original_value) {
    out += ",\"tombstone\":true";
  } else if (value == dead_letter_value::omitted) {
    out += ",\"value_omitted\":true,\"original_value_bytes\":";
    detail::append_number(out, static_cast<std::uint64_t>(d.original_value->size()));
  } else if (is_json_object(*d.original_value)) {
    out += ",\"envelope\":";
    out += *d.original_value;
  } else {
    out += ",\"raw_base64\":\"";
    out += detail::base64(*d.original_value);
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

producer_record dead_letter_record(const dead_letter& d, std::string dlq_topic,
                                   const std::vector<std::pair<std::string, std::string>>& original_headers,
                                   std::size_t max_bytes) {
  producer_record r;
  r.topic = std::move(dlq_topic);
  r.key = d.original_key;
  const auto build = [&](const dead_letter& what, dead_letter_value value, bool with_original_headers) {
    r.value = to_json(what, value);
    r.headers = headers(what);
    if (value == dead_letter_value::omitted) r.headers.emplace_back(dlt_headers::value_omitted, "true");
    if (with_original_headers)
      for (const auto& h : original_headers)
        if (!detail::is_failure_header(h.first)) r.headers.push_back(h);
    detail::keep_one_trace_header(r.headers);  // the failed record's trace, once
    return record_size(r) <= max_bytes;
  };
  if (build(d, dead_letter_value::embedded, true)) return r;
  if (build(d, dead_letter_value::omitted, true)) return r;
  if (build(d, dead_letter_value::omitted, false)) return r;
  dead_letter cut = d;
  if (cut.error_message.size() > 1024) {
    cut.error_message.resize(1024);
    while (!cut.error_message.empty() && !detail::is_valid_utf8(cut.error_message)) cut.error_message.pop_back();
    cut.error_message += " [cut]";
  }
  build(cut, dead_letter_value::omitted, false);  // what is left is metadata: small by nature
  return r;
}

}  // namespace txova::kafka
