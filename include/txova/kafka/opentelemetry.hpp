#pragma once
// The OpenTelemetry C++ adapter: txova's tracer (tracing.hpp) over an OpenTelemetry tracer, so
// `send` and `process` spans go to whatever exporter the application configured, and the
// caller's active OpenTelemetry span is the ambient parent of a publish. Target
// txova::kafka_opentelemetry (built when opentelemetry-cpp is found; Debian 12:
// opentelemetry-cpp-dev from bookworm-backports).
//
//   auto provider = opentelemetry::trace::Provider::GetTracerProvider();
//   producer_config cfg;
//   cfg.tracer = txova::kafka::opentelemetry_tracer(provider->GetTracer("ride-service"));
#include <txova/kafka/tracing.hpp>

#include <opentelemetry/nostd/shared_ptr.h>
#include <opentelemetry/trace/span_context.h>
#include <opentelemetry/trace/tracer.h>

#include <memory>

namespace txova::kafka {

/// A txova tracer that starts its spans on `t`.
std::shared_ptr<tracer> opentelemetry_tracer(opentelemetry::nostd::shared_ptr<opentelemetry::trace::Tracer> t);
/// The same over the global TracerProvider's tracer "txova-kafka".
std::shared_ptr<tracer> opentelemetry_tracer();

/// Conversions between the two: an invalid span context gives nullopt.
std::optional<trace_context> from_opentelemetry(const opentelemetry::trace::SpanContext& c);
opentelemetry::trace::SpanContext to_opentelemetry(const trace_context& t);

}  // namespace txova::kafka
