// txova-bench: our consumer and producer side by side with raw librdkafka, same properties, same
// broker, same run. Embedded cluster by default, or --brokers HOST:PORT (docs/benchmarks.md).
//
// The sections are consume_bench.cpp and publish_bench.cpp; each prints progress as it goes and
// ends with lines for tools (consume_* and publish_*). A figure that could not be measured is
// reported as such with the reason, never as a zero.
#include "bench_common.hpp"
#include "codec_bench.hpp"
#include "consume_bench.hpp"
#include "peers_bench.hpp"
#include "publish_bench.hpp"
#include "request_reply_bench.hpp"

#include <txova/kafka/admin.hpp>
#include <txova/kafka/envelope.hpp>
#include <txova/kafka/testing/embedded_cluster.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

namespace asio = boost::asio;
using namespace txova::kafka;
using namespace txova::kafka::bench;

namespace {

struct options {
  std::string brokers;
  bool quick = false;
  bool full = false;  // full sizes even on the embedded cluster
  bool publish = true;
  bool consume = true;
  bool codec = false;  // --codec: only the codec section
  bool peers = true;   // the Go peers, when built and on a real broker
  bool request_reply_only = false;  // --request-reply: only that section
  int request_rate = 1000;
  int lag_rate = 10000;
  publish_bench_options pub;
};

void usage() {
  std::puts(
      "usage: txova-bench [--brokers HOST:PORT] [--quick | --full] [--in-flight N] [--messages N] [--rates R1,R2,...]\n"
      "                   [--linger-ms N] [--no-wakeup-comparison] [--lag-rate N]\n"
      "                   [--publish-only | --consume-only | --codec | --request-reply] [--request-rate N] [--no-peers]\n"
      "Without --brokers (or KAFKA_BROKERS) it runs on the embedded cluster (librdkafka's mock) at the\n"
      "--quick sizes, which that cluster can serve; --full runs the full sizes there too.");
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  if (const char* b = std::getenv("KAFKA_BROKERS")) o.brokers = b;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "txova-bench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--brokers") o.brokers = value();
    else if (a == "--quick") o.quick = true;
    else if (a == "--full") o.full = true;
    else if (a == "--codec") o.codec = true;
    else if (a == "--no-peers") o.peers = false;
    else if (a == "--request-reply") o.request_reply_only = true;
    else if (a == "--request-rate") o.request_rate = std::stoi(value());
    else if (a == "--in-flight") o.pub.in_flight = std::stoul(value());
    else if (a == "--messages") o.pub.messages = std::stoul(value());
    else if (a == "--linger-ms") o.pub.linger = std::chrono::milliseconds(std::stol(value()));
    else if (a == "--no-wakeup-comparison") o.pub.compare_wakeups = false;
    else if (a == "--publish-only") o.consume = false;
    else if (a == "--consume-only") o.publish = false;
    else if (a == "--lag-rate") o.lag_rate = std::stoi(value());
    else if (a == "--rates") {
      o.pub.rates.clear();
      std::string list = value();
      for (std::size_t pos = 0; pos < list.size();) {
        const auto comma = list.find(',', pos);
        o.pub.rates.push_back(std::stoi(list.substr(pos, comma - pos)));
        pos = comma == std::string::npos ? list.size() : comma + 1;
      }
    } else if (a == "--help" || a == "-h") {
      usage();
      return 0;
    } else {
      std::fprintf(stderr, "txova-bench: unknown option %s\n", a.c_str());
      usage();
      return 2;
    }
  }
  spdlog::set_level(spdlog::level::warn);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress lines reach a pipe as they are written
  if (o.codec) return run_codec_section(codec_options{o.quick});

  std::optional<testing::embedded_cluster> cluster;
  std::string brokers = o.brokers;
  if (brokers.empty()) {
    cluster.emplace(1);
    brokers = cluster->bootstrap_servers();
  }
  const auto create_topic = [&](const std::string& name, int partitions) {
    if (cluster) {
      if (auto ec = cluster->create_topic(name, partitions)) {
        std::fprintf(stderr, "txova-bench: cannot create %s on the embedded cluster: %s\n", name.c_str(), ec.message().c_str());
        return false;
      }
      return true;
    }
    asio::io_context ioc;
    admin a(ioc.get_executor(), admin_config{.brokers = brokers});
    std::vector<topic_spec> specs{topic_spec{name, partitions, 1, std::chrono::hours(1), {}}};
    auto fut = a.async_create_topics(std::move(specs), asio::use_future);
    ioc.run();
    auto out = fut.get();
    if (out.empty() || out[0].ec) {
      std::fprintf(stderr, "txova-bench: cannot create %s on %s: %s\n", name.c_str(), brokers.c_str(),
                   out.empty() ? "no result" : out[0].message.c_str());
      return false;
    }
    return true;
  };
  if (cluster && !o.full && !o.quick) {
    o.quick = true;
    progress("embedded cluster: running the --quick sizes. librdkafka's mock cluster keeps 5 MiB per "
             "partition and runs its broker on these same cores; 'scripts/demo --real-broker' runs the full "
             "harness on a real Kafka (or pass --full)");
  }
  if (o.request_reply_only)
    return run_request_reply_section(request_reply_options{brokers, o.quick, o.request_rate, create_topic});
  int consume_status = 0;
  if (o.consume) {
    progress("[consume] %s", cluster ? "embedded cluster (librdkafka mock)" : ("brokers " + brokers).c_str());
    consume_status = run_consumer_section(consume_options{brokers, o.quick, cluster.has_value(), sample_envelope, o.lag_rate, create_topic});
  }
  int publish_status = 0;
  if (o.publish) {
    o.pub.brokers = brokers;
    o.pub.embedded = cluster.has_value();
    o.pub.quick = o.quick;
    o.pub.create_topic = create_topic;
    publish_status = run_publish_section(o.pub);
  }
  int peers_status = 0;
  if (o.peers && o.publish && o.consume)
    peers_status = run_peers_section(peers_options{brokers, o.quick, cluster.has_value(), create_topic});
  return consume_status || publish_status || peers_status ? 1 : 0;
}
