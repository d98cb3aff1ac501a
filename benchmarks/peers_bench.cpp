// The Go peers section of txova-bench: franz-go and sarama (benchmarks/peers, the txova-peers
// program) publish the same envelope and consume + decode the same backlog on the same broker
// in the same run, each once with our settings (like-for-like) and once with its own defaults;
// our producer and our typed consumer run beside them.
#include "peers_bench.hpp"

#include "bench_common.hpp"
#include "consume_bench.hpp"
#include "publish_bench.hpp"

#include <txova/kafka/envelope.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <unistd.h>

using namespace txova::kafka;
using namespace txova::kafka::bench;

namespace {

struct peer_result {
  double msgs = 0;
  std::string line;  // what the peer printed, or why it failed
};

// Runs `command`, returns the msgs= figure of its result line (stderr goes to the terminal).
peer_result run_peer(const std::string& command) {
  peer_result r;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return {0, "could not start: " + command};
  std::array<char, 1024> buf{};
  while (std::fgets(buf.data(), static_cast<int>(buf.size()), pipe)) r.line += buf.data();
  const int status = ::pclose(pipe);
  const auto at = r.line.rfind(" msgs=");
  if (status != 0 || at == std::string::npos) {
    r.line = "exit status " + std::to_string(status) + (r.line.empty() ? "" : ": " + r.line);
    return r;
  }
  r.msgs = std::strtod(r.line.c_str() + at + 6, nullptr);
  return r;
}

std::string peers_binary() {
  if (const char* p = std::getenv("TXOVA_PEERS"); p && *p) return p;
#ifdef TXOVA_PEERS_DEFAULT_BIN
  return TXOVA_PEERS_DEFAULT_BIN;
#else
  return {};
#endif
}

}  // namespace

int run_peers_section(const peers_options& o) {
  const std::string bin = peers_binary();
  if (o.embedded) {
    progress("[peers] skipped: the Go clients need a real broker (scripts/demo --real-broker runs them)");
    return 0;
  }
  if (bin.empty() || ::access(bin.c_str(), X_OK) != 0) {
    progress("[peers] skipped: txova-peers is not built (%s); with Go installed: cmake --build build/release --target txova-peers",
             bin.empty() ? "no Go at configure time" : bin.c_str());
    return 0;
  }
  const std::size_t n = o.quick ? 100000 : 200000;
  char path[] = "/tmp/txova-bench-envelope-XXXXXX";
  const int fd = ::mkstemp(path);
  if (fd < 0) return 1;
  ::close(fd);
  std::ofstream(path, std::ios::binary) << sample_envelope;
  const std::string id = new_uuid().substr(0, 8);
  int status = 0;

  struct row {
    std::string client, settings;
    peer_result peer;
  };
  std::vector<row> publishes, consumes;
  const std::array<std::pair<const char*, const char*>, 4> runs{
      {{"franz-go", "like-for-like"}, {"sarama", "like-for-like"}, {"franz-go", "defaults"}, {"sarama", "defaults"}}};

  progress("[peers] publish: %zu envelopes each, franz-go and sarama (like-for-like and defaults), then ours", n);
  for (const auto& [client, settings] : runs) {
    const std::string topic = "txova.bench.peer." + std::string(client) + "." + settings + "." + id;
    if (!o.create_topic(topic, 3)) return 1;
    const std::string cmd = "'" + bin + "' publish -client " + client + " -settings " + settings + " -brokers " + o.brokers +
                            " -topic " + topic + " -envelope " + path + " -messages " + std::to_string(n);
    publishes.push_back({client, settings, run_peer(cmd)});
  }
  const std::string our_topic = "txova.bench.peer.ours." + id;
  if (!o.create_topic(our_topic, 3)) return 1;
  const measurement ours_pub = our_publish_rate(o.brokers, our_topic, n, 10000);

  const std::string backlog = "txova.bench.peer.backlog." + id;
  if (!o.create_topic(backlog, 3)) return 1;
  progress("[peers] consume + decode: a backlog of %zu envelopes, each client, then our typed route", n);
  write_backlog(o.brokers, backlog, sample_envelope, n);
  for (const auto& [client, settings] : runs) {
    const std::string cmd = "'" + bin + "' consume -client " + client + " -settings " + settings + " -brokers " + o.brokers +
                            " -topic " + backlog + " -messages " + std::to_string(n);
    consumes.push_back({client, settings, run_peer(cmd)});
  }
  const measurement ours_con = typed_consume_rate(o.brokers, backlog, n);
  ::unlink(path);

  std::printf("\nGo peers, %zu envelopes (publish: acks=all, idempotent; like-for-like: linger 5 ms, snappy, 16 KiB batches)\n", n);
  const auto table = [&](const char* what, const std::vector<row>& rows, const measurement& ours) {
    for (const auto& r : rows) {
      if (r.peer.msgs > 0)
        std::printf("  %-8s %-9s %-14s %10.0f msg/s\n", what, r.client.c_str(), r.settings.c_str(), r.peer.msgs);
      else
        std::printf("  %-8s %-9s %-14s not measured (%s)\n", what, r.client.c_str(), r.settings.c_str(), r.peer.line.c_str());
    }
    std::printf("  %-8s %-9s %-14s %s\n", what, "ours", "defaults", rate_text(ours).c_str());
  };
  table("publish", publishes, ours_pub);
  table("consume", consumes, ours_con);
  std::printf("\n");
  const auto lines = [&](const char* kind, const std::vector<row>& rows, const measurement& ours) {
    for (const auto& r : rows) {
      if (r.peer.msgs > 0 && ours.ok())
        std::printf("peer_%s client=%s settings=%s msgs=%.0f ours=%.0f ratio=%.3f\n", kind, r.client.c_str(), r.settings.c_str(),
                    r.peer.msgs, ours.per_second, ours.per_second / r.peer.msgs);
      else {
        std::printf("peer_%s client=%s settings=%s not measured: peer %s, ours %s\n", kind, r.client.c_str(),
                    r.settings.c_str(), r.peer.msgs > 0 ? "ok" : r.peer.line.c_str(), rate_text(ours).c_str());
        status = 1;
      }
    }
  };
  lines("publish", publishes, ours_pub);
  lines("consume", consumes, ours_con);
  std::fflush(stdout);
  return status;
}
