// The test kit's builders (testing/envelopes.hpp).
#include <txova/kafka/testing/envelopes.hpp>

#include <txova/kafka/producer_record.hpp>

#include <cstdio>

namespace txova::kafka::testing {

std::string deterministic_id(std::uint64_t n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012llx", static_cast<unsigned long long>(n & 0xffffffffffffull));
  return buf;
}

timestamp deterministic_time(std::uint64_t n) {
  // 2026-01-01T00:00:00Z is 1767225600 s after the epoch.
  return timestamp(std::chrono::seconds(1767225600 + static_cast<std::int64_t>(n)));
}

envelope_builder::envelope_builder(envelope e, std::optional<std::string> key) : e_(std::move(e)), key_(std::move(key)) {}

envelope_builder& envelope_builder::id(std::string id) {
  const bool chain_of_its_own = e_.correlation_id == e_.id;
  e_.id = std::move(id);
  if (chain_of_its_own) e_.correlation_id = e_.id;  // a new chain stays its own
  return *this;
}
envelope_builder& envelope_builder::source(std::string source) {
  e_.source = std::move(source);
  return *this;
}
envelope_builder& envelope_builder::version(std::string version) {
  e_.version = std::move(version);
  return *this;
}
envelope_builder& envelope_builder::at(timestamp t) {
  e_.time = t;
  return *this;
}
envelope_builder& envelope_builder::correlation(std::string correlation_id) {
  e_.correlation_id = std::move(correlation_id);
  return *this;
}
envelope_builder& envelope_builder::caused_by(const envelope& cause) {
  e_.correlation_id = cause.correlation_id.empty() ? cause.id : cause.correlation_id;
  e_.causation_id = cause.id;
  return *this;
}
envelope_builder& envelope_builder::actor(std::string id, std::string type) {
  e_.actor = kafka::actor{std::move(id), std::move(type)};
  return *this;
}
envelope_builder& envelope_builder::deterministic(std::uint64_t n) {
  id(deterministic_id(n));
  e_.time = deterministic_time(n);
  return *this;
}
envelope_builder& envelope_builder::with_key(std::string key) {
  key_ = std::move(key);
  return *this;
}
envelope_builder& envelope_builder::with_header(std::string name, std::string value) {
  detail::set_header(headers_, name, value);
  return *this;
}
envelope_builder& envelope_builder::with_trace(const trace_context& t) {
  detail::set_trace_headers(headers_, t);
  return *this;
}

record_data envelope_builder::record(std::string topic, std::int32_t partition, std::int64_t offset) const {
  record_data d;
  d.topic = std::move(topic);
  d.partition = partition;
  d.offset = offset;
  d.key = key_;
  d.value = to_json(e_);
  d.headers = {{"event-id", e_.id},
               {"event-type", e_.type},
               {"correlation-id", e_.correlation_id.empty() ? e_.id : e_.correlation_id},
               {"schema-version", e_.version},
               {"source", e_.source},
               {"timestamp", format_timestamp(e_.time)}};
  d.headers.insert(d.headers.end(), headers_.begin(), headers_.end());
  d.broker_time = e_.time;
  return d;
}

consumed_record envelope_builder::consumed(std::string topic, std::int32_t partition, std::int64_t offset) const {
  return consumed_record(record(std::move(topic), partition, offset));
}

envelope_builder raw_envelope(std::string type, std::string version, std::string payload_json) {
  return envelope_builder(make_envelope(type, version, std::move(payload_json), event_context{.source = "test"}));
}

record_builder::record_builder(std::string topic) { d_.topic = std::move(topic); }
record_builder& record_builder::partition(std::int32_t p) {
  d_.partition = p;
  return *this;
}
record_builder& record_builder::offset(std::int64_t o) {
  d_.offset = o;
  return *this;
}
record_builder& record_builder::key(std::string k) {
  d_.key = std::move(k);
  return *this;
}
record_builder& record_builder::value(std::string v) {
  d_.value = std::move(v);
  return *this;
}
record_builder& record_builder::tombstone() {
  d_.value.reset();
  return *this;
}
record_builder& record_builder::header(std::string name, std::string value) {
  d_.headers.emplace_back(std::move(name), std::move(value));
  return *this;
}

}  // namespace txova::kafka::testing
