// metrics.hpp: families registered once; each middleware call looks its series up in a small
// cache (a linear scan under a mutex: a service has tens of topics, not thousands), so the hot
// path never builds a label map.
#include <txova/kafka/metrics.hpp>

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

std::string error_type(const boost::system::error_code& ec) {
  if (!ec) return {};
  if (ec.category() == rdkafka_category()) return rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(ec.value()));
  if (ec.category() == error_category()) {
    static constexpr const char* names[] = {"",
                                            "invalid_json", "too_large", "too_deep", "duplicate_key", "missing_field",
                                            "wrong_type", "invalid_field", "unknown_event_type", "no_partition_key",
                                            "invalid_config", "not_sent", "batch_incomplete", "dead_letter_failed",
                                            "closed", "timed_out", "queue_full", "fatal", "internal",
                                            "authentication_failed", "tls_failed", "wrong_security_protocol",
                                            "not_a_dead_letter"};
    if (ec.value() > 0 && static_cast<std::size_t>(ec.value()) < std::size(names)) return names[ec.value()];
  }
  return std::string(ec.category().name()) + ":" + std::to_string(ec.value());
}

namespace {

// OpenTelemetry's recommended boundaries for messaging durations, in seconds.
const prometheus::Histogram::BucketBoundaries duration_buckets{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
                                                               0.5,   0.75, 1,     2.5,  5,     7.5, 10};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

struct metrics::impl {
  prometheus::Registry registry;
  prometheus::Family<prometheus::Histogram>& publish_duration =
      prometheus::BuildHistogram()
          .Name("messaging_client_operation_duration_seconds")
          .Help("Duration of a publish, from the call until the broker's acknowledgment (or its failure)")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& sent =
      prometheus::BuildCounter()
          .Name("messaging_client_sent_messages_total")
          .Help("Messages the producer published; error_type is set on those that failed")
          .Register(registry);
  prometheus::Family<prometheus::Histogram>& process_duration =
      prometheus::BuildHistogram()
          .Name("messaging_process_duration_seconds")
          .Help("Duration of one handler attempt, middleware inside this one included")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& consumed =
      prometheus::BuildCounter()
          .Name("messaging_client_consumed_messages_total")
          .Help("Handler attempts; error_type is set on those that failed")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& retries =
      prometheus::BuildCounter()
          .Name("txova_consumer_retries_total")
          .Help("Handler attempts after the first (retries)")
          .Register(registry);

  struct publish_series {
    std::string topic, error;
    prometheus::Histogram* duration;
    prometheus::Counter* sent;
  };
  struct process_series {
    std::string topic, group, error;
    std::int32_t partition;
    prometheus::Histogram* duration;
    prometheus::Counter* consumed;
    prometheus::Counter* retries;
  };
  std::mutex mutex;
  std::vector<publish_series> publishes;
  std::vector<process_series> processes;

  publish_series& publish_for(std::string_view topic, const std::string& error) {
    std::lock_guard lock(mutex);
    for (auto& s : publishes)
      if (s.topic == topic && s.error == error) return s;
    const std::string name = publishes.size() < max_series ? std::string(topic) : "_other";
    prometheus::Labels labels{{"messaging_destination_name", name}, {"messaging_operation_name", "send"}};
    if (!error.empty()) labels.emplace("error_type", error);
    prometheus::Labels sent_labels{{"messaging_destination_name", name}};
    if (!error.empty()) sent_labels.emplace("error_type", error);
    return publishes.emplace_back(publish_series{std::string(topic), error, &publish_duration.Add(labels, duration_buckets),
                                                 &sent.Add(sent_labels)});
  }

  process_series& process_for(std::string_view topic, std::int32_t partition, std::string_view group, const std::string& error) {
    std::lock_guard lock(mutex);
    for (auto& s : processes)
      if (s.partition == partition && s.topic == topic && s.group == group && s.error == error) return s;
    const bool room = processes.size() < max_series;
    prometheus::Labels labels{{"messaging_destination_name", room ? std::string(topic) : "_other"},
                              {"messaging_destination_partition_id", room ? std::to_string(partition) : "_other"},
                              {"messaging_consumer_group_name", std::string(group)}};
    prometheus::Labels plain = labels;
    if (!error.empty()) labels.emplace("error_type", error);
    return processes.emplace_back(process_series{std::string(topic), std::string(group), error, partition,
                                                 &process_duration.Add(labels, duration_buckets), &consumed.Add(labels),
                                                 &retries.Add(plain)});
  }
};

metrics::metrics() : impl_(std::make_shared<impl>()) {}
metrics::~metrics() = default;

prometheus::Registry& metrics::registry() { return impl_->registry; }

std::string metrics::render() const {
  prometheus::TextSerializer serializer;
  return serializer.Serialize(impl_->registry.Collect());
}

kafka::producer_middleware metrics::producer_middleware() const {
  return [m = impl_](publish_call& call, publish_next next) -> boost::asio::awaitable<publish_result> {
    const auto t0 = std::chrono::steady_clock::now();
    publish_result r = co_await next();
    auto& s = m->publish_for(r.result.topic.empty() ? call.topic() : std::string_view(r.result.topic), error_type(r.ec));
    s.duration->Observe(seconds_since(t0));
    s.sent->Increment();
    co_return r;
  };
}

kafka::consumer_middleware metrics::consumer_middleware() const {
  return [m = impl_](const envelope&, message_context& ctx, handler_next next) -> boost::asio::awaitable<void> {
    const auto t0 = std::chrono::steady_clock::now();
    std::exception_ptr failure;
    std::string error;
    try {
      co_await next();
    } catch (const transient_error&) {
      failure = std::current_exception();
      error = "transient";
    } catch (const permanent_error&) {
      failure = std::current_exception();
      error = "permanent";
    } catch (const business_error&) {
      failure = std::current_exception();
      error = "business";
    } catch (const boost::system::system_error& e) {
      failure = std::current_exception();
      error = e.code() == boost::asio::error::operation_aborted ? "timeout" : error_type(e.code());
    } catch (const std::exception&) {
      failure = std::current_exception();
      error = "exception";
    } catch (...) {
      failure = std::current_exception();
      error = "unknown";
    }
    auto& s = m->process_for(ctx.topic(), ctx.partition(), ctx.consumer_group(), error);
    s.duration->Observe(seconds_since(t0));
    s.consumed->Increment();
    if (ctx.attempt() > 1) s.retries->Increment();
    if (failure) std::rethrow_exception(failure);
  };
}

}  // namespace txova::kafka
