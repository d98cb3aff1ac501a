#pragma once
// The Go peers section of txova-bench (benchmarks/peers: franz-go and sarama).
#include <functional>
#include <string>

struct peers_options {
  std::string brokers;
  bool quick = false;
  bool embedded = false;  ///< the Go clients need a real broker: the section is skipped
  std::function<bool(const std::string& topic, int partitions)> create_topic;
};

/// Runs the peers (TXOVA_PEERS or the configured txova-peers binary) beside ours and prints the
/// peer_publish and peer_consume lines; skipped with a sentence when there is no binary.
int run_peers_section(const peers_options& o);
