// The OpenTelemetry adapter against the real broker (suite opentelemetry_real), with the SDK's
// in-memory exporter: service A publishes inside its own span, B consumes and publishes a
// follow-up, C consumes it. One trace of five spans, each linked to the one before through the
// traceparent header: checkout (A) -> send (A) -> process (B) -> send (B) -> process (C).
#include <txova/kafka/consumer.hpp>
#include <txova/kafka/events/ride.hpp>
#include <txova/kafka/opentelemetry.hpp>
#include <txova/kafka/producer.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/test/unit_test.hpp>
#include <opentelemetry/exporters/memory/in_memory_span_data.h>
#include <opentelemetry/exporters/memory/in_memory_span_exporter_factory.h>
#include <opentelemetry/sdk/trace/simple_processor_factory.h>
#include <opentelemetry/sdk/trace/span_data.h>
#include <opentelemetry/sdk/trace/tracer_provider.h>
#include <opentelemetry/sdk/trace/tracer_provider_factory.h>
#include <opentelemetry/nostd/variant.h>
#include <opentelemetry/trace/scope.h>

#include "plain_client.hpp"

namespace asio = boost::asio;
namespace otel = opentelemetry;
using namespace txova::kafka;
using namespace std::chrono_literals;
using boost::system::error_code;
using txova::kafka::test::real_brokers;
using txova::kafka::test::unique_topic;

namespace {

std::string hex_of(const otel::trace::SpanId& id) {
  char buf[16];
  id.ToLowerBase16(buf);
  return std::string(buf, 16);
}
std::string hex_of(const otel::trace::TraceId& id) {
  char buf[32];
  id.ToLowerBase16(buf);
  return std::string(buf, 32);
}

consumer_config consumer_of(const std::string& topic, const std::string& group, std::shared_ptr<tracer> t) {
  consumer_config c;
  c.brokers = real_brokers();
  c.topics = {topic};
  c.group_id = group;
  c.session_timeout = 6s;
  c.heartbeat_interval = 500ms;
  c.commit_interval = 200ms;
  c.properties["fetch.wait.max.ms"] = "50";
  c.tracer = std::move(t);
  return c;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(opentelemetry_real, *boost::unit_test::timeout(180))

BOOST_AUTO_TEST_CASE(a_publish_its_consumption_a_follow_up_and_its_consumption_make_one_trace_of_five_spans) {
  std::shared_ptr<otel::exporter::memory::InMemorySpanData> spans;
  auto exporter = otel::exporter::memory::InMemorySpanExporterFactory::Create(spans);
  std::shared_ptr<otel::sdk::trace::TracerProvider> provider =
      otel::sdk::trace::TracerProviderFactory::Create(otel::sdk::trace::SimpleSpanProcessorFactory::Create(std::move(exporter)));
  auto otel_tracer = provider->GetTracer("opentelemetry-test");
  auto t = opentelemetry_tracer(otel_tracer);

  const std::string rides = unique_topic("txova.otel.rides");
  const std::string billing = unique_topic("txova.otel.billing");
  test::create_topics({{rides, 1}, {billing, 1}});

  asio::io_context ioc;
  producer_config pc;
  pc.brokers = real_brokers();
  pc.tracer = t;
  producer a(ioc.get_executor(), pc);        // service A
  producer b_out(ioc.get_executor(), pc);    // service B's producer
  const std::string c_group = unique_topic("otel-c");
  consumer b(ioc.get_executor(), consumer_of(rides, unique_topic("otel-b"), t));
  consumer c(ioc.get_executor(), consumer_of(billing, c_group, t));
  int b_handled = 0, c_handled = 0;
  std::string follow_up_id;
  b.routes().on<events::ride_started>([&](const events::ride_started& ev, message_context& ctx) -> asio::awaitable<void> {
    // Named, not temporaries of the co_await's full expression (GCC 12).
    event_context follow = ctx.follow_up("billing-service");
    publish_options to_billing{.topic = billing};
    auto d = co_await b_out.async_publish(ev, follow, std::move(to_billing));
    follow_up_id = d.event_id;
    ++b_handled;
  });
  c.routes().on("ride.*", [&](const envelope&, message_context&) -> asio::awaitable<void> {
    ++c_handled;
    co_return;
  });
  b.async_run([](error_code) {});
  c.async_run([](error_code) {});

  error_code published = make_error_code(error::timed_out);
  {
    // A's own span is active when it publishes: the producer takes it as the send span's parent.
    auto checkout = otel_tracer->StartSpan("checkout");
    otel::trace::Scope active(checkout);
    a.async_publish(events::ride_started{ids::ride_id("ride-otel"), now_utc(), location{-25.96, 32.58}},
                    event_context{.source = "ride-service"}, publish_options{.topic = rides},
                    [&](error_code ec, delivery) { published = ec; });
    checkout->End();
  }
  asio::co_spawn(ioc, [&]() -> asio::awaitable<void> {
    asio::steady_timer timer(ioc);
    const auto deadline = std::chrono::steady_clock::now() + 90s;
    while (c_handled == 0 && std::chrono::steady_clock::now() < deadline) {
      timer.expires_after(20ms);
      co_await timer.async_wait(asio::use_awaitable);
    }
    b.stop();
    c.stop();
    co_await a.async_close(5s);
    co_await b_out.async_close(5s);
  }, asio::detached);
  ioc.run();
  BOOST_TEST(!published, published.message());
  BOOST_TEST_REQUIRE(b_handled == 1);
  BOOST_TEST_REQUIRE(c_handled == 1);

  auto got = spans->GetSpans();
  BOOST_TEST_REQUIRE(got.size() == 5u);
  std::map<std::string, const otel::sdk::trace::SpanData*> by_name;
  for (const auto& s : got) by_name[std::string(s->GetName())] = s.get();
  BOOST_TEST_REQUIRE(by_name.size() == 5u);
  const auto* checkout = by_name.at("checkout");
  const auto* send_a = by_name.at("send " + rides);
  const auto* process_b = by_name.at("process " + rides);
  const auto* send_b = by_name.at("send " + billing);
  const auto* process_c = by_name.at("process " + billing);
  for (const auto& s : got) BOOST_TEST(hex_of(s->GetTraceId()) == hex_of(checkout->GetTraceId()), s->GetName());
  BOOST_TEST(!checkout->GetParentSpanId().IsValid(), "the root");
  BOOST_TEST(hex_of(send_a->GetParentSpanId()) == hex_of(checkout->GetSpanId()));
  BOOST_TEST(hex_of(process_b->GetParentSpanId()) == hex_of(send_a->GetSpanId()));
  BOOST_TEST(hex_of(send_b->GetParentSpanId()) == hex_of(process_b->GetSpanId()));
  BOOST_TEST(hex_of(process_c->GetParentSpanId()) == hex_of(send_b->GetSpanId()));
  BOOST_TEST((send_a->GetSpanKind() == otel::trace::SpanKind::kProducer));
  BOOST_TEST((process_b->GetSpanKind() == otel::trace::SpanKind::kConsumer));
  BOOST_TEST((send_b->GetSpanKind() == otel::trace::SpanKind::kProducer));
  BOOST_TEST((process_c->GetSpanKind() == otel::trace::SpanKind::kConsumer));

  // The conventions' attributes.
  const auto attr = [](const otel::sdk::trace::SpanData* s, const std::string& k) -> std::string {
    const auto& m = s->GetAttributes();
    auto it = m.find(k);
    if (it == m.end()) return "(none)";
    if (const auto* v = otel::nostd::get_if<std::string>(&it->second)) return *v;
    if (const auto* v = otel::nostd::get_if<std::int64_t>(&it->second)) return std::to_string(*v);
    return "(other)";
  };
  BOOST_TEST(attr(send_b, "messaging.system") == "kafka");
  BOOST_TEST(attr(send_b, "messaging.destination.name") == billing);
  BOOST_TEST(attr(send_b, "messaging.message.id") == follow_up_id);
  BOOST_TEST(attr(send_b, "messaging.destination.partition.id") == "0");
  BOOST_TEST(attr(process_c, "messaging.message.id") == follow_up_id);
  BOOST_TEST(attr(process_c, "messaging.consumer.group.name") == c_group);
  BOOST_TEST(attr(process_c, "messaging.kafka.offset") == "0");
  BOOST_TEST(attr(process_b, "messaging.destination.name") == rides);
}

BOOST_AUTO_TEST_SUITE_END()
