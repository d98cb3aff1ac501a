#pragma once
// Builders for tests (the test kit; docs/testing.md): envelopes over the catalog or raw, with
// deterministic ids and times when asked, and the records a consumer would fetch for them.
//
//   auto e = testing::envelope_for(events::ride_completed{...}).correlation("c-1").deterministic(1);
//   consumed_record r = e.consumed("txova.rides.v1", 0, 42);   // what a handler would be handed
#include <txova/kafka/envelope.hpp>
#include <txova/kafka/event.hpp>
#include <txova/kafka/record.hpp>
#include <txova/kafka/trace_context.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace txova::kafka::testing {

/// The n-th deterministic id: "00000000-0000-4000-8000-" and n in 12 hex digits (a valid v4 UUID).
std::string deterministic_id(std::uint64_t n);
/// The n-th deterministic time: 2026-01-01T00:00:00Z plus n seconds.
timestamp deterministic_time(std::uint64_t n);

class envelope_builder {
public:
  explicit envelope_builder(envelope e, std::optional<std::string> key = std::nullopt);

  envelope_builder& id(std::string id);
  envelope_builder& source(std::string source);
  envelope_builder& version(std::string version);
  envelope_builder& at(timestamp t);
  envelope_builder& correlation(std::string correlation_id);
  /// Same correlation id as `cause`, causation id = cause's id.
  envelope_builder& caused_by(const envelope& cause);
  envelope_builder& actor(std::string id, std::string type = "user");
  /// Id deterministic_id(n) and time deterministic_time(n).
  envelope_builder& deterministic(std::uint64_t n);
  /// The record's key (default: the catalog's partition key, else none).
  envelope_builder& with_key(std::string key);
  envelope_builder& with_header(std::string name, std::string value);
  /// traceparent/tracestate headers for `t`.
  envelope_builder& with_trace(const trace_context& t);

  const envelope& build() const noexcept { return e_; }
  operator const envelope&() const noexcept { return e_; }  // NOLINT: a builder stands for its envelope

  /// The record a producer would write: value to_json(envelope), the key, the envelope's six
  /// headers (event-id, event-type, correlation-id, schema-version, source, timestamp), then
  /// with_header()'s.
  record_data record(std::string topic, std::int32_t partition = 0, std::int64_t offset = 0) const;
  consumed_record consumed(std::string topic, std::int32_t partition = 0, std::int64_t offset = 0) const;

private:
  envelope e_;
  std::optional<std::string> key_;
  std::vector<std::pair<std::string, std::string>> headers_;
};

/// An envelope of a catalog event, source "test", a fresh id and the current time; keyed by its
/// partition key.
template <event Event>
envelope_builder envelope_for(const Event& ev) {
  auto key = event_key(ev);
  return envelope_builder(make_envelope(ev, event_context{.source = "test"}),
                          key ? std::optional<std::string>(std::move(*key)) : std::nullopt);
}

/// An envelope of any type around `payload_json` (an object's text).
envelope_builder raw_envelope(std::string type, std::string version, std::string payload_json = "{}");

/// A record of any bytes, for what is not an envelope (poison records, tombstones, other formats).
class record_builder {
public:
  explicit record_builder(std::string topic);
  record_builder& partition(std::int32_t p);
  record_builder& offset(std::int64_t o);
  record_builder& key(std::string k);
  record_builder& value(std::string v);
  record_builder& tombstone();
  record_builder& header(std::string name, std::string value);
  const record_data& data() const noexcept { return d_; }
  consumed_record build() const { return consumed_record(d_); }

private:
  record_data d_;
};

}  // namespace txova::kafka::testing
