#pragma once
// The consumer's documented memory bound (docs/consumer.md, Memory) and the process's resident
// size, shared by txova-membound and txova-chaos backpressure so that both judge one formula.
#include <txova/kafka/config.hpp>

#include <malloc.h>

#include <algorithm>
#include <cstddef>
#include <fstream>
#include <string>

namespace txova::kafka::bench {

/// VmRSS of this process in MiB (0 when /proc is not there).
inline double rss_mb() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

/// Bytes malloc has handed out and not had back (mallinfo2: arenas + mmapped chunks), in MiB:
/// next to rss_mb it tells live memory from what the allocator keeps after free.
inline double heap_in_use_mb() {
  const struct mallinfo2 mi = mallinfo2();
  return static_cast<double>(mi.uordblks + mi.hblkhd) / (1024.0 * 1024.0);
}

/// The bound, in MiB, for `partitions` held partitions of records of `record_bytes`: per
/// partition, the strand's records and one fetch response that reached the consumer queue before
/// the hold (both keep their fetch buffers alive), and what the held partition keeps in
/// librdkafka (held_prefetch_records, plus what a fetch brings before the 10 ms trim); ~300
/// bytes of librdkafka's own per message; once, the consumer queue of flowing partitions.
inline double consumer_memory_bound_mb(const consumer_config& cfg, int partitions, std::size_t record_bytes) {
  const double mib = 1024.0 * 1024.0;
  const double fetch = static_cast<double>(std::max<std::size_t>(cfg.max_message_bytes + 4096, 1048576));
  const double per_record = static_cast<double>(record_bytes) + 300.0;
  const double per_partition =
      3 * fetch + static_cast<double>(cfg.max_poll_records + cfg.held_prefetch_records) * per_record;
  return partitions * per_partition / mib + static_cast<double>(cfg.max_prefetch_kbytes) / 1024.0;
}

}  // namespace txova::kafka::bench
