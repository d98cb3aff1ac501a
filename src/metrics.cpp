// metrics.hpp: families registered once; each middleware call looks its series up in a small
// cache (a linear scan under a mutex: a service has tens of topics, not thousands), so the hot
// path never builds a label map.
#include "metrics_impl.hpp"

#include <txova/kafka/error.hpp>
#include <txova/kafka/handler.hpp>
#include <txova/kafka/handler_error.hpp>
#include <txova/kafka/rdkafka_error.hpp>

#include <boost/asio/error.hpp>
#include <librdkafka/rdkafka.h>
#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <chrono>
#include <mutex>
#include <vector>

namespace txova::kafka {

metrics::metrics() : impl_(std::make_shared<impl>()) {}
metrics::~metrics() = default;

prometheus::Registry& metrics::registry() { return impl_->registry; }

std::string metrics::render() const {
  std::vector<std::function<void()>> collectors;
  {
    std::lock_guard lock(impl_->mutex);
    collectors = impl_->collectors;
  }
  for (const auto& collect : collectors) collect();
  prometheus::TextSerializer serializer;
  return serializer.Serialize(impl_->registry.Collect());
}

namespace {

class publish_meter final : public publish_observer {
public:
  explicit publish_meter(std::shared_ptr<metrics::impl> m) : m_(std::move(m)) {}
  void before(publish_call&, observer_scope&) override {}
  void after(const publish_call& call, const publish_result& r, observer_scope& scope) override {
    auto& s = m_->publish_for(r.result.topic.empty() ? call.topic() : std::string_view(r.result.topic), r.ec);
    s.duration->Observe(detail::seconds_since(scope.started));
    s.sent->Increment();
  }

private:
  std::shared_ptr<metrics::impl> m_;
};

class handler_meter final : public handler_observer {
public:
  explicit handler_meter(std::shared_ptr<metrics::impl> m) : m_(std::move(m)) {}
  void before(const envelope&, message_context&, observer_scope&) override {}
  void after(const envelope&, message_context& ctx, const std::exception_ptr& failure, observer_scope& scope) override {
    auto& s = m_->process_for(ctx.topic(), ctx.partition(), ctx.consumer_group(), failure);
    s.duration->Observe(detail::seconds_since(scope.started));
    s.consumed->Increment();
    if (ctx.attempt() > 1) s.retries->Increment();
  }

private:
  std::shared_ptr<metrics::impl> m_;
};

}  // namespace

std::shared_ptr<publish_observer> metrics::producer_middleware() const { return std::make_shared<publish_meter>(impl_); }
std::shared_ptr<handler_observer> metrics::consumer_middleware() const { return std::make_shared<handler_meter>(impl_); }

}  // namespace txova::kafka
