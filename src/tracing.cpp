// The tracing middleware (tracing.hpp) and message_context's trace: a `send` span around every
// publish, a `process` span around every handler attempt, linked by the traceparent header.
#include <txova/kafka/tracing.hpp>

#include <txova/kafka/handler.hpp>
#include <txova/kafka/handler_error.hpp>

#include <exception>
#include <memory>
#include <string>

namespace txova::kafka {

namespace sa = span_attributes;

std::optional<trace_context> span_parent(const std::optional<trace_context>& parent) {
  if (!parent || !parent->valid()) return std::nullopt;
  if (!parent->has_parent()) return parent;
  trace_context p = *parent;  // a child() context: its span id was only reserved
  p.span_id = p.parent_span_id;
  p.parent_span_id = {};
  return p;
}

namespace {

// "send <topic>" in a buffer of this thread's: no allocation per span (the tracer copies the name).
std::string_view span_name(std::string_view operation, std::string_view topic) {
  thread_local std::string name;
  name.assign(operation);
  name.append(topic);
  return name;
}

class producer_span_observer final : public publish_observer {
public:
  explicit producer_span_observer(std::shared_ptr<tracer> t) : t_(std::move(t)) {}

  void before(publish_call& call, observer_scope& scope) override {
    std::optional<trace_context> parent = call.trace();
    if (!parent) parent = t_->current();  // the caller's thread: its ambient span
    std::unique_ptr<span> s = t_->start_span(span_name("send ", call.topic()), span_kind::producer, span_parent(parent));
    if (!s) return;
    s->set_attribute(sa::messaging_system, "kafka");
    s->set_attribute(sa::operation_name, "send");
    s->set_attribute(sa::operation_type, "send");
    s->set_attribute(sa::destination_name, call.topic());
    s->set_attribute(sa::message_id, call.event_id());
    s->set_attribute(sa::conversation_id, call.correlation_id());
    s->set_attribute(sa::body_size, static_cast<std::int64_t>(call.value_size()));
    call.set_trace(s->context());
    scope.data = std::move(s);
  }

  void after(const publish_call& call, const publish_result& r, observer_scope& scope) override {
    auto* s = static_cast<span*>(scope.data.get());
    if (!s) return;
    if (r.ec) {
      s->set_error(error_type(r.ec), r.result.error_message.empty() ? r.ec.message() : r.result.error_message);
    } else {
      if (!r.result.topic.empty() && r.result.topic != call.topic()) s->set_attribute(sa::destination_name, r.result.topic);
      s->set_attribute(sa::partition_id, std::to_string(r.result.partition));
      s->set_attribute(sa::offset, r.result.offset);
    }
    s->end();
  }

private:
  std::shared_ptr<tracer> t_;
};

class consumer_span_observer final : public handler_observer {
public:
  explicit consumer_span_observer(std::shared_ptr<tracer> t) : t_(std::move(t)) {}

  void before(const envelope& e, message_context& ctx, observer_scope& scope) override {
    // The record's own trace: each attempt (a retry too) is a child of the publish's span.
    std::unique_ptr<span> s = t_->start_span(span_name("process ", ctx.topic()), span_kind::consumer, span_parent(ctx.record_trace()));
    if (!s) return;
    s->set_attribute(sa::messaging_system, "kafka");
    s->set_attribute(sa::operation_name, "process");
    s->set_attribute(sa::operation_type, "process");
    s->set_attribute(sa::destination_name, ctx.topic());
    s->set_attribute(sa::partition_id, std::to_string(ctx.partition()));
    s->set_attribute(sa::offset, ctx.offset());
    s->set_attribute(sa::consumer_group, ctx.consumer_group());
    s->set_attribute(sa::message_id, e.id);
    s->set_attribute(sa::conversation_id, e.correlation_id);
    if (ctx.attempt() > 1) s->set_attribute("messaging.kafka.attempt", static_cast<std::int64_t>(ctx.attempt()));
    ctx.set_trace(s->context());
    scope.data = std::move(s);
  }

  void after(const envelope&, message_context&, const std::exception_ptr& failure, observer_scope& scope) override {
    auto* s = static_cast<span*>(scope.data.get());
    if (!s) return;
    if (failure) s->set_error(error_type_of(failure), classify_handler_failure(failure).message);
    s->end();
  }

private:
  std::shared_ptr<tracer> t_;
};

}  // namespace

std::shared_ptr<publish_observer> producer_tracing(std::shared_ptr<tracer> t) {
  if (!t) return {};
  return std::make_shared<producer_span_observer>(std::move(t));
}

std::shared_ptr<handler_observer> consumer_tracing(std::shared_ptr<tracer> t) {
  if (!t) return {};
  return std::make_shared<consumer_span_observer>(std::move(t));
}

const std::optional<trace_context>& message_context::record_trace() const {
  if (!record_trace_read_) {
    record_trace_read_ = true;
    bool malformed = false;
    const auto parent = record_->header_view(trace_headers::traceparent);  // views: no copies
    record_trace_ = detail::trace_from_headers(parent, parent ? record_->header_view(trace_headers::tracestate) : std::nullopt,
                                               malformed);
    if (malformed && malformed_traces_) ++*malformed_traces_;
  }
  return record_trace_;
}

event_context message_context::follow_up(std::string_view source) const {
  event_context c = event_context::caused_by(*envelope_, source);
  if (const auto& t = trace()) c.trace = t->child();
  return c;
}

}  // namespace txova::kafka
