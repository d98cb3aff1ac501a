// txova-bench --codec: the envelope codec per operation on the 481-byte ride.completed, next to
// two reference lines on the same bytes in the same run: a Boost.JSON DOM (monotonic resource on
// the stack) and simdjson 3 (on-demand, walking the same top-level fields and taking the
// payload's raw text; and its DOM front end, which picks its SIMD kernel at run time).
//
// Each figure is the best of 5 runs of N iterations (200 000; --quick 50 000), in ns per call.
#include "codec_bench.hpp"

#include "bench_common.hpp"

#include <txova/kafka/catalog.hpp>
#include <txova/kafka/detail/publish_check.hpp>
#include <txova/kafka/envelope.hpp>
#include <txova/kafka/events/all.hpp>
#include <txova/kafka/handler.hpp>

#include "../src/envelope_reader.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>

#if TXOVA_BENCH_HAVE_SIMDJSON
#include <simdjson.h>
#endif

#include <algorithm>
#include <cstdio>
#include <string>

using namespace txova::kafka;
using namespace txova::kafka::bench;

namespace {

// Keeps a result alive without the optimizer seeing through it.
template <class T>
void keep(const T& v) {
  asm volatile("" : : "g"(&v) : "memory");
}

template <class F>
double ns_per_call(std::size_t iterations, F&& f) {
  double best = 1e300;
  for (int run = 0; run < 5; ++run) {
    const auto t0 = clock_type::now();
    for (std::size_t i = 0; i < iterations; ++i) f();
    best = std::min(best, std::chrono::duration<double, std::nano>(clock_type::now() - t0).count() /
                              static_cast<double>(iterations));
  }
  return best;
}

#if TXOVA_BENCH_HAVE_SIMDJSON
// What a reader of the envelope must do, on simdjson's on-demand front end: the top-level string
// fields, the actor's two, and the payload's raw text. Returns false when the document is not one.
bool simdjson_walk(simdjson::ondemand::parser& parser, const simdjson::padded_string& doc, std::size_t& sink) {
  simdjson::ondemand::document d;
  if (parser.iterate(doc).get(d)) return false;
  simdjson::ondemand::object obj;
  if (d.get_object().get(obj)) return false;
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return false;
    if (key == "payload") {
      std::string_view raw;
      simdjson::ondemand::object payload;
      if (field.value().get_object().get(payload) || payload.raw_json().get(raw)) return false;
      sink += raw.size();
    } else if (key == "actor") {
      simdjson::ondemand::object a;
      if (field.value().get_object().get(a)) return false;
      for (auto af : a) {
        std::string_view v;
        if (af.value().get_string().get(v)) return false;
        sink += v.size();
      }
    } else {
      std::string_view v;
      if (field.value().get_string().get(v)) return false;
      sink += v.size();
    }
  }
  return true;
}
#endif

}  // namespace

int run_codec_section(const codec_options& o) {
  const std::size_t n = o.quick ? 50000 : 200000;
  const std::string text(sample_envelope);
  progress("[codec] %zu-byte ride.completed envelope, %zu iterations per figure, best of 5", text.size(), n);

  auto parsed = parse_envelope(text);
  if (!parsed) {
    std::printf("codec: the sample envelope does not parse: %s\n", parsed.error().message.c_str());
    return 1;
  }
  const envelope e = *parsed;
  auto typed = payload_as<events::ride_completed>(e);
  if (!typed) {
    std::printf("codec: the sample payload does not decode: %s\n", typed.error().message.c_str());
    return 1;
  }

  const double parse_ns = ns_per_call(n, [&] {
    auto r = parse_envelope(text);
    keep(r);
  });
  const double dom_ns = ns_per_call(n, [&] {  // what parse_envelope did before the one pass
    auto r = detail::read_envelope_dom(text, {});
    keep(r);
  });
  const double publish_check_ns = ns_per_call(n, [&] {
    std::string key;
    auto d = detail::validate_for_publish(e, txova_catalog(), &key);
    keep(d);
    keep(key);
  });
  const double to_json_ns = ns_per_call(n, [&] {
    auto s = to_json(e);
    keep(s);
  });
  const double typed_encode_ns = ns_per_call(n, [&] {
    auto s = to_json_text(*typed);
    keep(s);
  });
  const double payload_as_ns = ns_per_call(n, [&] {
    auto r = payload_as<events::ride_completed>(e);
    keep(r);
  });
  const double typed_route_ns = ns_per_call(n, [&] {  // what a typed route does with an accepted payload
    auto r = detail::decode_accepted_payload<events::ride_completed>(e);
    keep(r);
  });
  const double boost_json_ns = ns_per_call(n, [&] {
    unsigned char buffer[4096];
    boost::json::monotonic_resource mr(buffer, sizeof buffer);
    boost::system::error_code ec;
    auto v = boost::json::parse(text, ec, &mr);
    keep(v);
  });

  double simdjson_ns = 0, simdjson_dom_ns = 0;
  std::string simdjson_kernel = "absent";
#if TXOVA_BENCH_HAVE_SIMDJSON
  {
    simdjson::ondemand::parser parser;
    const simdjson::padded_string doc(text);
    std::size_t sink = 0;
    if (!simdjson_walk(parser, doc, sink)) {
      std::printf("codec: simdjson did not walk the sample\n");
      return 1;
    }
    simdjson_ns = ns_per_call(n, [&] {
      simdjson_walk(parser, doc, sink);
      keep(sink);
    });
    simdjson::dom::parser dom;
    simdjson_dom_ns = ns_per_call(n, [&] {
      simdjson::dom::element el;
      auto err = dom.parse(doc).get(el);
      keep(err);
    });
    simdjson_kernel = std::string(simdjson::builtin_implementation()->name()) + " (on-demand, chosen at compile time), " +
                      std::string(simdjson::get_active_implementation()->name()) + " (DOM, chosen at run time)";
  }
#endif

  std::printf("\nenvelope codec, ns per call (%zu-byte envelope, %zu-byte payload)\n", text.size(), e.payload.size());
  std::printf("  %-44s %9.0f\n", "parse_envelope (parse + validate)", parse_ns);
  std::printf("  %-44s %9.0f\n", "  the DOM path (unusual input, diagnostics)", dom_ns);
  std::printf("  %-44s %9.0f\n", "validate for publish (+ partition key)", publish_check_ns);
  std::printf("  %-44s %9.0f\n", "to_json (envelope)", to_json_ns);
  std::printf("  %-44s %9.0f\n", "typed encode (to_json_text ride_completed)", typed_encode_ns);
  std::printf("  %-44s %9.0f\n", "payload_as<ride_completed>", payload_as_ns);
  std::printf("  %-44s %9.0f\n", "  in a typed route (payload already accepted)", typed_route_ns);
  std::printf("  %-44s %9.0f\n", "reference: boost::json::parse (monotonic)", boost_json_ns);
  if (simdjson_ns > 0) {
    std::printf("  %-44s %9.0f\n", "reference: simdjson on-demand walk", simdjson_ns);
    std::printf("  %-44s %9.0f\n", "reference: simdjson DOM parse", simdjson_dom_ns);
    std::printf("  simdjson kernels: %s\n", simdjson_kernel.c_str());
  } else {
    std::printf("  simdjson: not built in (install libsimdjson-dev and reconfigure)\n");
  }
  std::printf("\nenvelope_codec parse_ns=%.0f publish_check_ns=%.0f to_json_ns=%.0f typed_encode_ns=%.0f payload_as_ns=%.0f "
              "typed_route_ns=%.0f boost_json_ns=%.0f dom_parse_ns=%.0f",
              parse_ns, publish_check_ns, to_json_ns, typed_encode_ns, payload_as_ns, typed_route_ns, boost_json_ns, dom_ns);
  if (simdjson_ns > 0)
    std::printf(" simdjson_ns=%.0f simdjson_dom_ns=%.0f parse_to_simdjson=%.2f", simdjson_ns, simdjson_dom_ns,
                parse_ns / simdjson_ns);
  std::printf("\n");
  std::fflush(stdout);
  return 0;
}
