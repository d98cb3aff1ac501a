// The OpenTelemetry adapter (opentelemetry.hpp): txova spans as OpenTelemetry spans.
#include <txova/kafka/opentelemetry.hpp>

#include <opentelemetry/context/runtime_context.h>
#include <opentelemetry/trace/context.h>
#include <opentelemetry/trace/provider.h>
#include <opentelemetry/trace/span.h>
#include <opentelemetry/trace/trace_state.h>

namespace txova::kafka {
namespace {

namespace otel = opentelemetry;

class otel_span final : public span {
public:
  explicit otel_span(otel::nostd::shared_ptr<otel::trace::Span> s) : s_(std::move(s)) {}
  ~otel_span() override {
    if (!ended_) s_->End();
  }
  trace_context context() const override { return from_opentelemetry(s_->GetContext()).value_or(trace_context{}); }
  void set_attribute(std::string_view name, std::string_view value) override {
    s_->SetAttribute(otel::nostd::string_view(name.data(), name.size()), otel::nostd::string_view(value.data(), value.size()));
  }
  void set_attribute(std::string_view name, std::int64_t value) override {
    s_->SetAttribute(otel::nostd::string_view(name.data(), name.size()), value);
  }
  void set_error(std::string_view type, std::string_view description) override {
    set_attribute(span_attributes::error_type, type);
    s_->SetStatus(otel::trace::StatusCode::kError, otel::nostd::string_view(description.data(), description.size()));
  }
  void end() override {
    if (ended_) return;
    ended_ = true;
    s_->End();
  }

private:
  otel::nostd::shared_ptr<otel::trace::Span> s_;
  bool ended_ = false;
};

class otel_tracer final : public tracer {
public:
  explicit otel_tracer(otel::nostd::shared_ptr<otel::trace::Tracer> t) : t_(std::move(t)) {}

  std::unique_ptr<span> start_span(std::string_view name, span_kind kind, const std::optional<trace_context>& parent) override {
    otel::trace::StartSpanOptions options;
    options.kind = kind == span_kind::producer ? otel::trace::SpanKind::kProducer : otel::trace::SpanKind::kConsumer;
    // A parent from a header is remote; with none the span is a root, whatever is active now
    // (the producer already took the active span as the parent when the publish was made).
    options.parent = parent ? to_opentelemetry(*parent) : otel::trace::SpanContext::GetInvalid();
    return std::make_unique<otel_span>(t_->StartSpan(otel::nostd::string_view(name.data(), name.size()), options));
  }

  std::optional<trace_context> current() const override {
    return from_opentelemetry(otel::trace::GetSpan(otel::context::RuntimeContext::GetCurrent())->GetContext());
  }

private:
  otel::nostd::shared_ptr<otel::trace::Tracer> t_;
};

}  // namespace

std::optional<trace_context> from_opentelemetry(const opentelemetry::trace::SpanContext& c) {
  if (!c.IsValid()) return std::nullopt;
  trace_context t;
  c.trace_id().CopyBytesTo(opentelemetry::nostd::span<std::uint8_t, 16>(t.trace_id.data(), 16));
  c.span_id().CopyBytesTo(opentelemetry::nostd::span<std::uint8_t, 8>(t.span_id.data(), 8));
  t.flags = c.trace_flags().flags();
  if (c.trace_state()) t.state = c.trace_state()->ToHeader();
  return t;
}

opentelemetry::trace::SpanContext to_opentelemetry(const trace_context& t) {
  namespace ot = opentelemetry::trace;
  return ot::SpanContext(ot::TraceId(opentelemetry::nostd::span<const std::uint8_t, 16>(t.trace_id.data(), 16)),
                         ot::SpanId(opentelemetry::nostd::span<const std::uint8_t, 8>(t.span_id.data(), 8)),
                         ot::TraceFlags(t.flags), true, ot::TraceState::FromHeader(opentelemetry::nostd::string_view(t.state.view().data(), t.state.size())));
}

std::shared_ptr<tracer> opentelemetry_tracer(opentelemetry::nostd::shared_ptr<opentelemetry::trace::Tracer> t) {
  return std::make_shared<otel_tracer>(std::move(t));
}

std::shared_ptr<tracer> opentelemetry_tracer() {
  return opentelemetry_tracer(opentelemetry::trace::Provider::GetTracerProvider()->GetTracer("txova-kafka"));
}

}  // namespace txova::kafka
