// Reading dead letters back: ours (a JSON body), Spring Kafka's and Kafka Connect's (the original
// value with failure headers); the filters a replay or a listing applies; the record a replay
// republishes.
#include <txova/kafka/dlq.hpp>
#include <txova/kafka/trace_context.hpp>
#include <txova/kafka/router.hpp>

#include <txova/kafka/detail/base64.hpp>
#include <txova/kafka/detail/json_text.hpp>

#include <boost/json/value.hpp>

#include <charconv>

namespace txova::kafka {
namespace {

using header_list = std::vector<std::pair<std::string, std::string>>;

diagnostic malformed(std::string message) {
  return make_diagnostic(error::not_a_dead_letter, "", std::move(message));
}

const std::string* find(const header_list& h, std::string_view name) {
  for (const auto& [k, v] : h)
    if (k == name) return &v;
  return nullptr;
}

template <class Int>
std::optional<Int> decimal(std::string_view text) {
  Int v{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return v;
}

// Spring writes partition and offset as big-endian binary ints; other writers as text.
template <class Int>
std::optional<Int> spring_int(std::string_view bytes) {
  if (bytes.size() == sizeof(Int)) {
    std::uint64_t v = 0;
    for (unsigned char c : bytes) v = (v << 8) | c;
    return static_cast<Int>(static_cast<std::make_signed_t<Int>>(v));
  }
  return decimal<Int>(bytes);
}

std::optional<std::string> type_of(const std::optional<std::string>& value) {
  if (!value || value->empty() || value->front() != '{') return std::nullopt;
  auto v = detail::parse_strict(*value, {value->size() + 1, 64}, "dead-lettered envelope");
  if (!v || !v->is_object()) return std::nullopt;
  const auto* t = v->as_object().if_contains("type");
  if (!t || !t->is_string()) return std::nullopt;
  return std::string(t->as_string());
}

boost::system::result<decoded_dead_letter, diagnostic> decode_txova(const consumed_record& r, header_list headers) {
  const std::string_view body = r.value();
  auto parsed = detail::parse_strict(body, {body.size() + 1, 64}, "dead letter");
  if (!parsed || !parsed->is_object())
    return malformed("dead letter at " + std::string(r.topic()) + "[" + std::to_string(r.partition()) + "]@" +
                     std::to_string(r.offset()) + " has txova_dlt headers but its value is not a JSON object");
  const auto& o = parsed->as_object();
  decoded_dead_letter d;
  d.format = dead_letter_format::txova;
  const auto text = [&](std::string_view k) -> std::optional<std::string> {
    const auto* v = o.if_contains(k);
    if (!v || !v->is_string()) return std::nullopt;
    return std::string(v->as_string());
  };
  const auto integer = [&](std::string_view k, std::int64_t fallback) {
    const auto* v = o.if_contains(k);
    return v && v->is_int64() ? v->as_int64() : fallback;
  };
  auto topic = text("original_topic");
  if (!topic || topic->empty()) return malformed("dead letter at offset " + std::to_string(r.offset()) + " has no original_topic");
  d.failure.original_topic = std::move(*topic);
  d.failure.original_partition = static_cast<std::int32_t>(integer("original_partition", -1));
  d.failure.original_offset = integer("original_offset", -1);
  if (auto k = text("original_key")) d.failure.original_key = std::move(*k);
  else if (auto k64 = text("original_key_base64")) d.failure.original_key = detail::base64_decode(*k64);
  if (o.contains("envelope")) {
    d.failure.original_value = std::string(detail::raw_member(body, "envelope"));
  } else if (auto raw = text("raw_base64")) {
    auto bytes = detail::base64_decode(*raw);
    if (!bytes) return malformed("dead letter at offset " + std::to_string(r.offset()) + ": raw_base64 is not base64");
    d.failure.original_value = std::move(*bytes);
  } else if (o.contains("value_omitted")) {
    d.value_omitted = true;
    d.failure.original_value = std::string{};
  }  // else a tombstone: no value
  d.failure.error_message = text("error_message").value_or("");
  d.failure.attempt_count = static_cast<int>(integer("attempt_count", 1));
  if (auto t = text("first_failure"); t && parse_timestamp(*t)) d.failure.first_failure = *parse_timestamp(*t);
  if (auto t = text("last_failure"); t && parse_timestamp(*t)) d.failure.last_failure = *parse_timestamp(*t);
  d.failure.consumer_group = text("consumer_group");
  std::erase_if(headers, [](const auto& h) { return detail::is_failure_header(h.first); });
  d.original_headers = std::move(headers);
  return d;
}

boost::system::result<decoded_dead_letter, diagnostic> decode_headers_format(const consumed_record& r, header_list headers,
                                                                             dead_letter_format format) {
  const bool spring = format == dead_letter_format::spring;
  const std::string prefix = spring ? "kafka_dlt-" : "__connect.errors.";
  const auto get = [&](std::string_view suffix) { return find(headers, prefix + std::string(suffix)); };
  decoded_dead_letter d;
  d.format = format;
  const std::string* topic = get(spring ? "original-topic" : "topic");
  if (!topic || topic->empty()) return malformed(prefix + (spring ? "original-topic" : "topic") + " is empty");
  d.failure.original_topic = *topic;
  const std::string* part = get(spring ? "original-partition" : "partition");
  const std::string* off = get(spring ? "original-offset" : "offset");
  if (part) {
    const auto p = spring ? spring_int<std::int32_t>(*part) : decimal<std::int32_t>(*part);
    if (!p) return malformed(prefix + (spring ? "original-partition" : "partition") + " \"" + detail::base64(*part) + "\" (base64) is not a partition");
    d.failure.original_partition = *p;
  }
  if (off) {
    const auto o = spring ? spring_int<std::int64_t>(*off) : decimal<std::int64_t>(*off);
    if (!o) return malformed(prefix + (spring ? "original-offset" : "offset") + " \"" + detail::base64(*off) + "\" (base64) is not an offset");
    d.failure.original_offset = *o;
  }
  if (const std::string* m = get("exception-message"); spring && m) d.failure.error_message = *m;
  if (const std::string* m = get("exception.message"); !spring && m) d.failure.error_message = *m;
  if (const std::string* g = get("original-consumer-group"); spring && g) d.failure.consumer_group = *g;
  if (r.has_key()) d.failure.original_key = std::string(r.key());
  if (!r.is_tombstone()) d.failure.original_value = std::string(r.value());
  d.failure.first_failure = d.failure.last_failure = r.broker_time();  // neither writer records when it failed
  std::erase_if(headers, [&](const auto& h) { return h.first.starts_with(prefix); });
  d.original_headers = std::move(headers);
  return d;
}

}  // namespace

std::string_view to_string(dead_letter_format f) noexcept {
  switch (f) {
    case dead_letter_format::spring: return "spring";
    case dead_letter_format::connect: return "connect";
    case dead_letter_format::txova: break;
  }
  return "txova";
}

boost::system::result<decoded_dead_letter, diagnostic> decode_dead_letter(const consumed_record& r) {
  header_list headers = r.headers();
  boost::system::result<decoded_dead_letter, diagnostic> out = malformed("");
  if (find(headers, dlt_headers::attempt_count) || (find(headers, dlt_headers::original_topic) && r.value().starts_with("{\"original_topic\"")))
    out = decode_txova(r, std::move(headers));
  else if (find(headers, dlt_headers::original_topic))
    out = decode_headers_format(r, std::move(headers), dead_letter_format::spring);
  else if (find(headers, "__connect.errors.topic"))
    out = decode_headers_format(r, std::move(headers), dead_letter_format::connect);
  else
    return malformed("record " + std::string(r.topic()) + "[" + std::to_string(r.partition()) + "]@" + std::to_string(r.offset()) +
                     " has none of the headers a DLQ writer adds (txova_dlt-attempt-count, kafka_dlt-original-topic, "
                     "__connect.errors.topic)");
  if (!out) return out;
  out->replay_count = replay_count_of(out->original_headers);
  if (const std::string* t = find(out->original_headers, "event-type")) out->event_type = *t;
  else out->event_type = type_of(out->failure.original_value);
  out->dlq_topic = std::string(r.topic());
  out->dlq_partition = r.partition();
  out->dlq_offset = r.offset();
  return out;
}

bool dead_letter_filter::matches(const decoded_dead_letter& d) const {
  const auto& f = d.failure;
  if (!types.empty()) {
    if (!d.event_type) return false;
    bool any = false;
    for (const auto& p : types) any = any || detail::route_rank(p, *d.event_type) >= 0;
    if (!any) return false;
  }
  if (!error_contains.empty() && f.error_message.find(error_contains) == std::string::npos) return false;
  if (!original_topic.empty() && f.original_topic != original_topic) return false;
  if (partition && f.original_partition != *partition) return false;
  if (min_offset && f.original_offset < *min_offset) return false;
  if (max_offset && f.original_offset > *max_offset) return false;
  if (key && f.original_key != *key) return false;
  if (failed_after && f.last_failure < *failed_after) return false;
  if (failed_before && f.last_failure > *failed_before) return false;
  return true;
}

std::optional<producer_record> replay_record(const decoded_dead_letter& d, std::string_view to_topic) {
  if (d.value_omitted) return std::nullopt;
  producer_record r;
  r.topic = to_topic.empty() ? d.failure.original_topic : std::string(to_topic);
  r.key = d.failure.original_key;
  r.value = d.failure.original_value;
  r.headers = replay_headers_for(d.original_headers, d.replay_count,
                                 d.dlq_topic + "/" + std::to_string(d.dlq_partition) + "/" + std::to_string(d.dlq_offset));
  return r;
}

std::vector<std::pair<std::string, std::string>> replay_headers_for(const std::vector<std::pair<std::string, std::string>>& original,
                                                                    int replays_so_far, std::string_view replayed_from) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& h : original)
    if (h.first != replay_headers::replay_count && h.first != replay_headers::replayed_from) out.push_back(h);
  detail::keep_one_trace_header(out);  // the original trace continues, once
  out.emplace_back(replay_headers::replay_count, std::to_string(replays_so_far + 1));
  out.emplace_back(replay_headers::replayed_from, std::string(replayed_from));
  return out;
}

int replay_count_of(const std::vector<std::pair<std::string, std::string>>& headers) noexcept {
  const std::string* v = find(headers, replay_headers::replay_count);
  const auto n = v ? decimal<int>(*v) : std::nullopt;
  return n && *n > 0 ? *n : 0;
}

}  // namespace txova::kafka
