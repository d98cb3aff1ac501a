#pragma once
// A tracer for the middleware_cost lines: it makes real span contexts (random ids, attributes
// counted) and drops them, so the figure is what the library's tracing costs, not an exporter's.
#include <txova/kafka/handler.hpp>
#include <txova/kafka/tracing.hpp>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string_view>

namespace txova::kafka::bench {

class discarding_tracer final : public tracer {
public:
  std::atomic<std::uint64_t> spans{0};

  std::unique_ptr<span> start_span(std::string_view, span_kind, const std::optional<trace_context>& parent) override {
    auto s = std::make_unique<discarded_span>(*this);
    s->ctx = parent ? parent->child() : trace_context::new_root();
    return s;
  }

private:
  struct discarded_span final : span {
    explicit discarded_span(discarding_tracer& t) : owner(&t) {}
    discarding_tracer* owner;
    trace_context ctx;
    int attributes = 0;
    trace_context context() const override { return ctx; }
    void set_attribute(std::string_view, std::string_view) override { ++attributes; }
    void set_attribute(std::string_view, std::int64_t) override { ++attributes; }
    void set_error(std::string_view, std::string_view) override { ++attributes; }
    void end() override { owner->spans.fetch_add(1, std::memory_order_relaxed); }
  };
};

/// Adds a traceparent-sized header and nothing else: what the header alone costs on the wire.
class header_only_observer final : public publish_observer {
public:
  void before(publish_call& call, observer_scope&) override {
    call.set_header("x-bench-traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  }
  void after(const publish_call&, const publish_result&, observer_scope&) override {}
};

/// Reads each record's traceparent (librdkafka parses the record's headers then) and nothing
/// else: what a consumer pays for looking at a header at all.
class header_reading_observer final : public handler_observer {
public:
  std::uint64_t seen = 0;
  void before(const envelope&, message_context& ctx, observer_scope&) override { seen += ctx.record_trace().has_value(); }
  void after(const envelope&, message_context&, const std::exception_ptr&, observer_scope&) override {}
};

/// Which observers the middleware_cost lines turn on: TXOVA_BENCH_OBSERVERS, a comma-separated
/// list of metrics, tracing and header (the header alone; default metrics,tracing).
inline const char* observers_text() {
  const char* v = std::getenv("TXOVA_BENCH_OBSERVERS");
  return v && *v ? v : "metrics,tracing";
}
inline bool observer_wanted(std::string_view name) { return std::string_view(observers_text()).find(name) != std::string_view::npos; }

}  // namespace txova::kafka::bench
