// W3C Trace Context in Kafka headers and the tracing middleware, over the fake ports: parsing
// and writing traceparent, a publish carrying its caller's trace, spans that link a publish to
// its consumption and to the follow-up events, malformed values ignored and counted, and DLQ
// writes and replays that carry one trace.
#include <txova/kafka/dlq.hpp>
#include <txova/kafka/events/ride.hpp>
#include <txova/kafka/producer.hpp>
#include <txova/kafka/tracing.hpp>

#include <boost/test/unit_test.hpp>

#include "client_fixtures.hpp"
#include "consumer_fixture.hpp"
#include "recording_tracer.hpp"

using namespace consumer_fixture;

namespace {

constexpr std::string_view w3c_example = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

std::size_t count_header(const std::vector<std::pair<std::string, std::string>>& hs, std::string_view name) {
  std::size_t n = 0;
  for (const auto& h : hs) n += h.first == name;
  return n;
}
std::string header_of(const std::vector<std::pair<std::string, std::string>>& hs, std::string_view name) {
  for (const auto& h : hs)
    if (h.first == name) return h.second;
  return "(none)";
}

struct producer_fixture : test::fake_producer {
  explicit producer_fixture(std::shared_ptr<tracer> t = nullptr) : fake_producer([&](producer_config& c) { c.tracer = t; }) {}
  error_code publish(const events::ride_started& ev, event_context ctx, publish_options opt = {}) {
    std::optional<error_code> ec;
    p->async_publish(ev, ctx, std::move(opt), [&](error_code e, delivery) { ec = e; });
    test::run_until(ioc, [&] { return ec.has_value(); });
    return ec.value_or(make_error_code(error::timed_out));
  }
};

events::ride_started ride() { return events::ride_started{ids::ride_id("ride-1"), now_utc(), location{-25.96, 32.58}}; }

}  // namespace

BOOST_AUTO_TEST_SUITE(trace_context_format)

BOOST_AUTO_TEST_CASE(reads_and_writes_the_w3c_example) {
  auto t = trace_context::parse(w3c_example, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
  BOOST_TEST_REQUIRE(t.has_value());
  BOOST_TEST(t->trace_id_hex() == "0af7651916cd43dd8448eb211c80319c");
  BOOST_TEST(t->span_id_hex() == "b7ad6b7169203331");
  BOOST_TEST(t->sampled());
  BOOST_TEST(!t->has_parent());
  BOOST_TEST(t->state.view() == "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
  BOOST_TEST(t->traceparent() == w3c_example);
  auto unsampled = trace_context::parse(" 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00\t");
  BOOST_TEST_REQUIRE(unsampled.has_value());
  BOOST_TEST(!unsampled->sampled());
}

BOOST_AUTO_TEST_CASE(ignores_what_the_standard_says_to_ignore) {
  for (std::string_view bad : {
           "",
           "garbage",
           "00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01",   // uppercase
           "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",   // version ff
           "00-00000000000000000000000000000000-b7ad6b7169203331-01",   // all-zero trace id
           "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",   // all-zero span id
           "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-x",  // version 00 with more
           "00-0af7651916cd43dd8448eb211c80319-b7ad6b7169203331-011",   // a short trace id
           "00_0af7651916cd43dd8448eb211c80319c_b7ad6b7169203331_01",   // wrong separators
           "0g-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",   // not hex
           "cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01x",  // a later version, no '-'
       })
    BOOST_TEST(!trace_context::parse(bad).has_value(), "accepted \"" << bad << "\"");
  // A later version may add fields; what version 00 defines is read.
  auto later = trace_context::parse("cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-what-the-future-holds");
  BOOST_TEST_REQUIRE(later.has_value());
  BOOST_TEST(later->traceparent() == w3c_example);
}

BOOST_AUTO_TEST_CASE(tracestate_is_cut_at_whole_members_and_a_child_continues_the_trace) {
  std::string state;
  for (int i = 0; i < 40; ++i) state += (i ? "," : "") + std::string("vendor") + std::to_string(i) + "=" + std::string(10, 'x');
  auto t = trace_context::parse(w3c_example, state);
  BOOST_TEST_REQUIRE(t.has_value());
  BOOST_TEST(t->state.size() <= 255u);
  BOOST_TEST(t->state.view().starts_with("vendor0=xxxxxxxxxx,vendor1="));
  BOOST_TEST(t->state.view().back() == 'x', "ends on a whole member: " << t->state.view());
  const trace_context c = t->child();
  BOOST_TEST(c.trace_id_hex() == t->trace_id_hex());
  BOOST_TEST(c.span_id_hex() != t->span_id_hex());
  BOOST_TEST(c.parent_span_id_hex() == t->span_id_hex());
  BOOST_TEST(c.flags == t->flags);
  BOOST_TEST((span_parent(c)->span_id == t->span_id), "a span for a child() context hangs from its parent");
  const trace_context root = trace_context::new_root();
  BOOST_TEST(root.valid());
  BOOST_TEST(root.trace_id_hex() != trace_context::new_root().trace_id_hex());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(trace_propagation)

BOOST_AUTO_TEST_CASE(a_publish_writes_its_callers_trace_once_replacing_given_headers) {
  producer_fixture f;
  const trace_context caller = *trace_context::parse(w3c_example, "rojo=1");
  publish_options opt;
  opt.headers = {{"traceparent", "00-11111111111111111111111111111111-2222222222222222-01"}, {"tenant", "mz"}};
  BOOST_TEST(!f.publish(ride(), event_context{.source = "ride-service", .trace = caller}, opt));
  // The envelope overload takes publish_options::trace.
  envelope e = make_envelope(ride(), event_context{.source = "ride-service"});
  std::optional<error_code> ec;
  f.p->async_publish(e, publish_options{.trace = &caller}, [&](error_code x, delivery) { ec = x; });
  test::run_until(f.ioc, [&] { return ec.has_value(); });
  // Without a trace nothing is written.
  BOOST_TEST(!f.publish(ride(), event_context{.source = "ride-service"}));
  BOOST_TEST_REQUIRE(f.port->sent.size() == 3u);
  for (std::size_t i = 0; i < 2; ++i) {
    const auto& hs = f.port->sent[i].headers;
    BOOST_TEST(count_header(hs, "traceparent") == 1u);
    BOOST_TEST(header_of(hs, "traceparent") == w3c_example);
    BOOST_TEST(header_of(hs, "tracestate") == "rojo=1");
  }
  BOOST_TEST(header_of(f.port->sent[0].headers, "tenant") == "mz");
  BOOST_TEST(count_header(f.port->sent[2].headers, "traceparent") == 0u);
}

BOOST_AUTO_TEST_CASE(a_producer_tracer_wraps_each_publish_in_a_send_span_that_the_header_names) {
  auto t = std::make_shared<test::recording_tracer>();
  t->ambient = trace_context::parse(w3c_example);
  producer_fixture f(t);
  BOOST_TEST(!f.publish(ride(), event_context{.source = "ride-service"}));
  BOOST_TEST_REQUIRE(t->ended.size() == 1u);
  const test::recorded_span& s = t->ended[0];
  BOOST_TEST(s.name == "send txova.rides.v1");
  BOOST_TEST((s.kind == span_kind::producer));
  BOOST_TEST_REQUIRE(s.parent.has_value());
  BOOST_TEST(s.parent->span_id_hex() == "b7ad6b7169203331", "the ambient span, taken at the call");
  BOOST_TEST(s.context.trace_id_hex() == "0af7651916cd43dd8448eb211c80319c");
  BOOST_TEST(s.attributes.at("messaging.system") == "kafka");
  BOOST_TEST(s.attributes.at("messaging.destination.name") == "txova.rides.v1");
  BOOST_TEST(s.attributes.at("messaging.operation.name") == "send");
  BOOST_TEST(s.attributes.count("messaging.destination.partition.id") == 1u);
  BOOST_TEST(s.attributes.count("messaging.kafka.offset") == 1u);
  BOOST_TEST(s.attributes.at("messaging.message.id") == header_of(f.port->sent[0].headers, "event-id"));
  BOOST_TEST(header_of(f.port->sent[0].headers, "traceparent") == s.context.traceparent());
  BOOST_TEST(count_header(f.port->sent[0].headers, "traceparent") == 1u);
}

BOOST_AUTO_TEST_CASE(a_consumer_reads_the_trace_counts_malformed_ones_and_follow_ups_continue_it) {
  fixture f;
  std::vector<std::optional<trace_context>> seen;
  std::vector<event_context> follow_ups;
  f.c->routes().on("ride.*", [&](const envelope&, message_context& ctx) -> asio::awaitable<void> {
    seen.push_back(ctx.trace());
    follow_ups.push_back(ctx.follow_up("billing"));
    co_return;
  });
  f.run();
  f.port->assign({{topic, 0}});
  auto with_trace = record_at(0, ride_event());
  with_trace.headers = {{"traceparent", std::string(w3c_example)}, {"tracestate", "rojo=1"}};
  auto malformed = record_at(1, ride_event());
  malformed.headers = {{"traceparent", "00-not-a-trace-01"}};
  f.port->record(with_trace);
  f.port->record(malformed);
  f.port->record(record_at(2, ride_event()));
  BOOST_TEST_REQUIRE(f.run_until([&] { return f.c->stats().handled == 3; }));
  BOOST_TEST_REQUIRE(seen.size() == 3u);
  BOOST_TEST_REQUIRE(seen[0].has_value());
  BOOST_TEST(seen[0]->traceparent() == w3c_example);
  BOOST_TEST(seen[0]->state.view() == "rojo=1");
  BOOST_TEST(!seen[1].has_value());
  BOOST_TEST(!seen[2].has_value());
  BOOST_TEST(f.c->stats().malformed_traceparents == 1u);
  BOOST_TEST_REQUIRE(follow_ups[0].trace.has_value());
  BOOST_TEST(follow_ups[0].trace->trace_id_hex() == "0af7651916cd43dd8448eb211c80319c");
  BOOST_TEST(follow_ups[0].trace->span_id_hex() != "b7ad6b7169203331");
  BOOST_TEST(follow_ups[0].trace->parent_span_id_hex() == "b7ad6b7169203331");
  BOOST_TEST(!follow_ups[1].trace.has_value());
  f.stop();
}

BOOST_AUTO_TEST_CASE(spans_link_a_publish_its_processing_and_the_follow_up_publish) {
  auto t = std::make_shared<test::recording_tracer>();
  producer_fixture a(t);  // service A publishes
  BOOST_TEST(!a.publish(ride(), event_context{.source = "ride-service"}));
  BOOST_TEST_REQUIRE(a.port->sent.size() == 1u);

  auto cfg = fixture::config();
  cfg.tracer = t;
  cfg.max_retries = 1;
  fixture b(cfg);  // service B consumes, fails once, and publishes a follow-up
  producer_fixture b_out(t);
  int calls = 0;
  b.c->routes().on("ride.*", [&](const envelope& e, message_context& ctx) -> asio::awaitable<void> {
    if (++calls == 1) throw transient_error("first try fails");
    auto follow = ctx.follow_up("billing");
    b_out.p->async_publish(ride(), follow, [](error_code, delivery) {});
    (void)e;
    co_return;
  });
  b.run();
  b.port->assign({{topic, 0}});
  auto rec = record_at(0, *a.port->sent[0].value);
  rec.headers = a.port->sent[0].headers;
  b.port->record(rec);
  BOOST_TEST_REQUIRE(b.run_until([&] { return b.c->stats().handled == 1; }));
  BOOST_TEST_REQUIRE(test::run_until(b_out.ioc, [&] { return b_out.port->sent.size() == 1u && t->ended.size() == 4u; }));

  // send (A), process attempt 1 (failed), process attempt 2, send (B's follow-up)
  const auto& send_a = t->ended[0];
  const auto& process_1 = t->ended[1];
  const auto& process_2 = t->ended[2];
  const auto& send_b = t->ended[3];
  BOOST_TEST(process_1.name == "process txova.rides.v1");
  BOOST_TEST((process_1.kind == span_kind::consumer));
  BOOST_TEST(process_1.error_type == "transient");
  BOOST_TEST(process_2.error_type.empty());
  BOOST_TEST(process_2.attributes.at("messaging.consumer.group.name") == "billing");
  BOOST_TEST(process_2.attributes.at("messaging.kafka.offset") == "0");
  for (const auto* s : {&process_1, &process_2}) {
    BOOST_TEST_REQUIRE(s->parent.has_value());
    BOOST_TEST(s->parent->span_id_hex() == send_a.context.span_id_hex(), "each attempt is a child of A's send");
  }
  BOOST_TEST_REQUIRE(send_b.parent.has_value());
  BOOST_TEST(send_b.parent->span_id_hex() == process_2.context.span_id_hex(), "the follow-up hangs from the processing");
  for (const auto* s : {&send_a, &process_1, &process_2, &send_b})
    BOOST_TEST(s->context.trace_id_hex() == send_a.context.trace_id_hex());
  BOOST_TEST(header_of(b_out.port->sent[0].headers, "traceparent") == send_b.context.traceparent());
  b.stop();
}

BOOST_AUTO_TEST_CASE(dead_letters_and_replays_carry_one_trace) {
  fixture f;
  f.c->routes().on("ride.*", [&](const envelope&, message_context&) -> asio::awaitable<void> {
    throw permanent_error("cannot handle");
    co_return;
  });
  f.run();
  f.port->assign({{topic, 0}});
  auto rec = record_at(0, ride_event());
  rec.headers = {{"traceparent", std::string(w3c_example)},
                 {"traceparent", "00-11111111111111111111111111111111-2222222222222222-01"},
                 {"tracestate", "rojo=1"}};
  f.port->record(rec);
  BOOST_TEST_REQUIRE(f.run_until([&] { return f.dlq->sent.size() == 1u; }));
  const auto& dl = f.dlq->sent[0];
  BOOST_TEST(count_header(dl.headers, "traceparent") == 1u);
  BOOST_TEST(header_of(dl.headers, "traceparent") == w3c_example);
  BOOST_TEST(count_header(dl.headers, "tracestate") == 1u);
  f.stop();

  // The replayer's record: the original trace, once.
  record_data back;
  back.topic = "txova.rides.v1.dlq";
  back.key = dl.key;
  back.value = dl.value;
  back.headers = dl.headers;
  back.headers.emplace_back("traceparent", "00-33333333333333333333333333333333-4444444444444444-01");
  auto decoded = decode_dead_letter(consumed_record(back));
  BOOST_TEST_REQUIRE(decoded.has_value(), decoded.error().message);
  auto replay = replay_record(*decoded, "");
  BOOST_TEST_REQUIRE(replay.has_value());
  BOOST_TEST(count_header(replay->headers, "traceparent") == 1u);
  BOOST_TEST(header_of(replay->headers, "traceparent") == w3c_example);
}

BOOST_AUTO_TEST_SUITE_END()
