#pragma once
// The envelope standard: the JSON every txova event travels in.
//
// {"id":"<uuid v4>","type":"ride.completed","version":"1.0","source":"ride-service",
//  "timestamp":"2024-01-15T10:30:00Z","correlation_id":"...","causation_id":"...",
//  "actor":{"id":"...","type":"user"},"payload":{...}}
//
// Field names and order are those the Go services write; causation_id and actor are omitted
// when absent. The payload is kept as the exact JSON text it arrived as (like Go's
// json.RawMessage), so re-publishing (DLQ, replay) never rewrites a byte of it.

#include <txova/kafka/codec.hpp>
#include <txova/kafka/error.hpp>
#include <txova/kafka/event.hpp>
#include <txova/kafka/fixed_string.hpp>
#include <txova/kafka/trace_context.hpp>
#include <txova/kafka/timestamp.hpp>

#include <boost/system/result.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace txova::kafka {

/// Who caused an event. `type` is one of "user", "system", "admin".
struct actor {
  std::string id{};
  std::string type{};
  friend bool operator==(const actor&, const actor&) = default;
};

/// One event on the wire.
struct envelope {
  std::string id{};                           ///< UUID v4, lowercase
  std::string type{};                         ///< "domain.action"
  std::string version{};                      ///< payload schema version "major.minor"
  std::string source{};                       ///< producing service
  timestamp time{};                         ///< when it happened, UTC (JSON "timestamp")
  std::string correlation_id{};               ///< the chain of events this one belongs to
  std::optional<std::string> causation_id{};  ///< id of the event that caused this one
  std::optional<kafka::actor> actor{};        ///< who caused it
  std::string payload = "{}";               ///< raw JSON text of an object

  friend bool operator==(const envelope&, const envelope&) = default;
};

/// Text of an event_context (up to 255 bytes, stored inline: see fixed_string.hpp for why).
using context_text = fixed_string<255>;

/// Who caused an event, as an event_context carries it.
struct context_actor {
  context_text id{};
  context_text type{};  ///< "user", "system", "admin"
  context_actor() = default;
  context_actor(context_text i, context_text t) noexcept : id(i), type(t) {}
  context_actor(const kafka::actor& a) noexcept : id(a.id), type(a.type) {}  // NOLINT: implicit
  kafka::actor to_actor() const { return kafka::actor{id.str(), type.str()}; }
};

/// Where an event comes from: the publishing service and, for a follow-up event, the chain it
/// continues. An empty correlation_id starts a new chain (the event's own id becomes it).
/// `event_context{.source = "ride-service"}` is fine anywhere, in a co_await too: its fields are
/// stored inline (fixed_string), each up to 255 bytes; longer text fails the publish, naming
/// the field.
struct event_context {
  context_text source{};
  context_text correlation_id{};
  std::optional<context_text> causation_id{};
  std::optional<context_actor> actor{};
  /// The trace the publish continues (W3C traceparent/tracestate headers); message_context::
  /// follow_up() fills it. Without it a producer with a tracer takes the caller's current span.
  std::optional<trace_context> trace{};

  /// The context of an event caused by `cause`: same correlation id, causation = cause's id.
  static event_context caused_by(const envelope& cause, std::string_view source);
  /// Which field is too long to be carried, if any (converts to false when all fit).
  diagnostic check() const;
};

/// Limits for untrusted envelopes. 1 MiB matches Kafka's default maximum message size.
struct envelope_limits {
  std::size_t max_bytes = 1024 * 1024;
  unsigned max_depth = 32;
  /// Closed enumerations are enforced (actor.type one of user, system, admin). False: any
  /// non-empty value is accepted, as a Go service reading the envelope would (docs/envelope.md).
  bool strict = true;
};

/// True when `type` is one of the actor types the standard names (user, system, admin).
bool known_actor_type(std::string_view type) noexcept;

/// A fresh random (version 4) UUID, lowercase canonical text.
std::string new_uuid();

/// An envelope with a fresh id and the current UTC time around `payload_json` (an object's text).
/// Throws diagnostic_error when a field of `ctx` was too long (event_context::check()).
envelope make_envelope(std::string_view type, std::string_view version, std::string payload_json,
                       const event_context& ctx);

/// An envelope for a typed event: type, version and payload from its catalog entry.
template <event T>
envelope make_envelope(const T& payload, const event_context& ctx) {
  return make_envelope(T::info.type, T::info.version, to_json_text(payload), ctx);
}

/// Parses and validates untrusted text. Unknown fields are ignored; every error names the field.
boost::system::result<envelope, diagnostic> parse_envelope(std::string_view json,
                                                           const envelope_limits& limits = {});

/// The envelope's JSON, byte-compatible with the Go services' encoding.
std::string to_json(const envelope& e);

/// Checks every field; the diagnostic says which field and why (`version "1" is not major.minor`).
/// Converts to false when the envelope is valid.
diagnostic validate(const envelope& e);
/// The same with `limits` (size, depth, and whether closed enumerations are enforced).
diagnostic validate(const envelope& e, const envelope_limits& limits);

/// The payload decoded as `T`; errors name the field ("payload.fare.amount must be an integer, got
/// string \"12\"").
template <class T>
boost::system::result<T, diagnostic> payload_as(const envelope& e, const envelope_limits& limits = {}) {
  return from_json_text<T>(e.payload, "payload", {limits.max_bytes, limits.max_depth});
}

/// The parsed major version of "major.minor", or nullopt when malformed.
std::optional<unsigned> major_version(std::string_view version) noexcept;

}  // namespace txova::kafka
