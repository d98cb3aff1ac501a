// The logging middleware (logging_middleware.hpp) and spdlog's levels for ours.
#include <txova/kafka/logging_middleware.hpp>

#include <txova/kafka/handler.hpp>
#include <txova/kafka/log.hpp>

#include <spdlog/spdlog.h>

#include <chrono>
#include <exception>

namespace txova::kafka {
namespace {

double millis_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int detail::spdlog_level(log_level l) noexcept {
  switch (l) {
    case log_level::trace: return spdlog::level::trace;
    case log_level::debug: return spdlog::level::debug;
    case log_level::info: return spdlog::level::info;
    case log_level::warn: return spdlog::level::warn;
    case log_level::error: return spdlog::level::err;
    case log_level::critical: return spdlog::level::critical;
    case log_level::off: return spdlog::level::off;
  }
  return spdlog::level::err;
}

namespace {

spdlog::level::level_enum level_of(log_level l) { return static_cast<spdlog::level::level_enum>(detail::spdlog_level(l)); }

class publish_logger final : public publish_observer {
public:
  explicit publish_logger(logging_options o) : level_(level_of(o.succeeded)) {}
  void before(publish_call&, observer_scope&) override {}
  void after(const publish_call& call, const publish_result& r, observer_scope& scope) override {
    if (r.ec) return;  // the producer logs each failure once
    auto l = logger();
    if (!l->should_log(level_)) return;
    l->log(level_, "txova publish: event {} ({}, correlation {}) to {}[{}]@{} in {:.2f} ms", call.event_id(),
           call.event_type(), call.correlation_id(), r.result.topic, r.result.partition, r.result.offset,
           millis_since(scope.started));
  }

private:
  spdlog::level::level_enum level_;
};

class handler_logger final : public handler_observer {
public:
  explicit handler_logger(logging_options o) : level_(level_of(o.succeeded)) {}
  void before(const envelope&, message_context&, observer_scope&) override {}
  void after(const envelope& e, message_context& ctx, const std::exception_ptr& failure, observer_scope& scope) override {
    if (failure) return;  // the consumer logs it, with what it does about it
    auto l = logger();
    if (!l->should_log(level_)) return;
    l->log(level_, "txova consume: event {} ({}, correlation {}) from {}[{}]@{} handled by {} in {:.2f} ms (attempt {})",
           e.id, e.type, e.correlation_id, ctx.topic(), ctx.partition(), ctx.offset(), ctx.consumer_group(),
           millis_since(scope.started), ctx.attempt());
  }

private:
  spdlog::level::level_enum level_;
};

}  // namespace

std::shared_ptr<publish_observer> producer_logging(logging_options options) { return std::make_shared<publish_logger>(options); }
std::shared_ptr<handler_observer> consumer_logging(logging_options options) { return std::make_shared<handler_logger>(options); }

}  // namespace txova::kafka
