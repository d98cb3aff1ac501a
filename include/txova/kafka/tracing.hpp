#pragma once
// Tracing: a tracer interface the library starts spans on, in the OpenTelemetry messaging
// conventions, and the middleware that do it:
//   - `send <topic>` (PRODUCER) around every publish until its acknowledgment; its context is
//     what the traceparent header carries, so a consumer's span becomes its child;
//   - `process <topic>` (CONSUMER) around every handler attempt, a child of the record's
//     traceparent; message_context::trace() is then the process span, so follow_up() events
//     continue the trace from it.
// Set producer_config::tracer / consumer_config::tracer to turn it on (the producer then also
// takes the caller's ambient context, tracer::current(), at the call to async_publish), or add
// the middleware yourself. opentelemetry.hpp adapts an OpenTelemetry C++ tracer.
#include <txova/kafka/middleware.hpp>
#include <txova/kafka/trace_context.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

namespace txova::kafka {

enum class span_kind { producer, consumer };

/// The attribute names of the OpenTelemetry messaging conventions the library sets.
namespace span_attributes {
inline constexpr std::string_view messaging_system = "messaging.system";  // "kafka"
inline constexpr std::string_view operation_name = "messaging.operation.name";  // "send", "process"
inline constexpr std::string_view operation_type = "messaging.operation.type";  // "send", "process"
inline constexpr std::string_view destination_name = "messaging.destination.name";
inline constexpr std::string_view partition_id = "messaging.destination.partition.id";
inline constexpr std::string_view offset = "messaging.kafka.offset";
inline constexpr std::string_view message_key = "messaging.kafka.message.key";  // not set: keys may be personal data
inline constexpr std::string_view consumer_group = "messaging.consumer.group.name";
inline constexpr std::string_view message_id = "messaging.message.id";  // the event id
inline constexpr std::string_view conversation_id = "messaging.message.conversation_id";  // the correlation id
inline constexpr std::string_view body_size = "messaging.message.body.size";
inline constexpr std::string_view error_type = "error.type";
}  // namespace span_attributes

/// A started span. end() once; attributes set after end() are dropped. (An observer_data, so an
/// observer can keep it from before() to after().)
class span : public observer_data {
public:
  virtual ~span() = default;
  /// Its own context: what a publish writes as traceparent, what a handler's follow-ups continue.
  virtual trace_context context() const = 0;
  virtual void set_attribute(std::string_view name, std::string_view value) = 0;
  virtual void set_attribute(std::string_view name, std::int64_t value) = 0;
  /// Marks the span failed: error.type and status ERROR with `description`.
  virtual void set_error(std::string_view error_type, std::string_view description) = 0;
  virtual void end() = 0;
};

class tracer {
public:
  virtual ~tracer() = default;
  /// A span named `name`, a child of `parent` (a root when there is none; for a parent made by
  /// trace_context::child(), a child of its parent_span_id).
  virtual std::unique_ptr<span> start_span(std::string_view name, span_kind kind, const std::optional<trace_context>& parent) = 0;
  /// The caller's current span, if the tracer keeps one (OpenTelemetry's active span).
  virtual std::optional<trace_context> current() const { return std::nullopt; }
};

/// The context a span for `parent` hangs from: parent_span_id for a child() context (whose own
/// span id was only reserved), else `parent` itself.
std::optional<trace_context> span_parent(const std::optional<trace_context>& parent);

/// `send <topic>` spans around every publish, a child of the publish's trace (event_context::
/// trace, publish_options::trace), else of the tracer's current span on the caller's thread.
std::shared_ptr<publish_observer> producer_tracing(std::shared_ptr<tracer> t);
/// `process <topic>` spans around every handler attempt, children of the record's traceparent.
std::shared_ptr<handler_observer> consumer_tracing(std::shared_ptr<tracer> t);

}  // namespace txova::kafka
