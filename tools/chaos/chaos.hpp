#pragma once
// txova-chaos: the reliability scenarios (docs/reliability.md). Shared parts: options, the one
// figures line per scenario, the brokers through scripts/kafka-broker, child processes, and the
// ledger that turns what was published and what was read into lost/duplicates/reordered.
#include <txova/kafka/catalog.hpp>
#include <txova/kafka/values.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/describe/class.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace chaos {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// ---- the event every scenario publishes ------------------------------------------------------

namespace ids {
using key_id = txova::kafka::strong_id<struct key_tag>;
}
/// chaos.tick: the seq-th event of key `key` (seq counts up per key from 1).
struct tick {
  static constexpr txova::kafka::event_info info{"chaos.tick", "1.0", "txova.chaos.v1", "key"};
  ids::key_id key;
  std::int64_t seq = 0;
  std::string pad;  ///< makes records the size a scenario wants
};
BOOST_DESCRIBE_STRUCT(tick, (), (key, seq, pad))
const txova::kafka::catalog& chaos_catalog();

// ---- options and results ------------------------------------------------------------------------

struct options {
  std::string script;      ///< scripts/kafka-broker
  std::string state_root;  ///< brokers' state dirs and member logs go under it
  std::string self;        ///< this program, for child members
  bool quick = false;      ///< reduced counts (CI)
  /// Count at full size, or at quick size.
  std::int64_t count(std::int64_t full, std::int64_t reduced) const { return quick ? reduced : full; }
  template <class D>
  D pick(D full, D reduced) const { return quick ? reduced : full; }
};

struct figures {
  std::string scenario{};
  std::int64_t published = 0, acked = 0, lost = 0, duplicates = 0, reordered = 0, dead_lettered = 0, handled = 0;
  double seconds = 0;
  std::vector<std::string> broken{};                        ///< promises not kept, each a sentence
  std::vector<std::pair<std::string, std::string>> detail{};///< printed on a second line
  void expect(bool ok, std::string what) {
    if (!ok) broken.push_back(std::move(what));
  }
  void note(std::string name, std::string value) { detail.emplace_back(std::move(name), std::move(value)); }
  void note(std::string name, std::int64_t value) { note(std::move(name), std::to_string(value)); }
};
/// `reliability scenario=... seconds=...`, then `reliability_detail ...` and each broken promise.
void print(const figures& f);

/// Progress on stderr, with the time since the program started.
void progress(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// ---- processes ----------------------------------------------------------------------------------

/// Starts `argv` with stdout and stderr appended to `log_file`; returns its pid (throws on failure).
pid_t spawn(const std::vector<std::string>& argv, const std::string& log_file);
/// Waits (polling on a timer, never blocking the io_context) until `pid` exits: its exit status,
/// or 128+signal; nullopt when `limit` passed first.
asio::awaitable<std::optional<int>> wait_exit(pid_t pid, std::chrono::milliseconds limit);
/// Runs `argv` to its end within `limit`; its output (throws with the log's tail when it fails).
asio::awaitable<std::string> run(std::vector<std::string> argv, std::string log_file, std::chrono::milliseconds limit);
asio::awaitable<void> sleep_for(std::chrono::milliseconds d);
/// Runs `op` on an io_context of its own to its end (for the scenarios that direct children only).
template <class T>
T sync(asio::awaitable<T> op) {
  asio::io_context ioc;
  auto f = asio::co_spawn(ioc, std::move(op), asio::use_future);
  ioc.run();
  return f.get();
}
/// The last `lines` lines of a file (for failure messages).
std::string tail(const std::string& file, int lines = 20);

// ---- brokers ------------------------------------------------------------------------------------

/// A cluster started by scripts/kafka-broker in `state_root/name`.
class cluster {
public:
  cluster(const options& o, std::string name) : opt_(&o), dir_(o.state_root + "/" + std::move(name)) {}
  asio::awaitable<void> start(int nodes);
  asio::awaitable<void> kill(int node);
  asio::awaitable<void> restart(int node);
  asio::awaitable<void> stop();
  /// The node leading most partitions of `topic` (from `status`).
  asio::awaitable<int> leader_of_most(const std::string& topic);
  const std::string& brokers() const { return brokers_; }
  const std::string& dir() const { return dir_; }

private:
  asio::awaitable<std::string> script(std::vector<std::string> args, std::chrono::milliseconds limit);
  const options* opt_;
  std::string dir_;
  std::string brokers_;
};

// ---- the ledger ---------------------------------------------------------------------------------

/// One event as it was read (or handled): enough to judge loss, duplicates and order.
struct seen {
  std::string id;
  std::string key;
  std::int64_t seq = 0;
  std::int32_t partition = -1;
  std::int64_t offset = -1;
};
/// "id key seq partition offset\n": what members write per handled record.
std::string to_line(const seen& s);
/// Every complete line of `file` (a line cut by a kill is ignored).
std::vector<seen> read_lines(const std::string& file);

struct judgement {
  std::int64_t seen = 0;        ///< sightings in all lists
  std::int64_t lost = 0;        ///< expected ids missing from what was seen
  std::int64_t duplicates = 0;  ///< sightings beyond the first, by event id
  std::int64_t reordered = 0;   ///< per key, within a partition, seq going backwards (in list order)
  std::int64_t unexpected = 0;  ///< distinct ids seen that were never published
};
/// Judges the sightings against `expected` ids. Order is checked within each list on its own (a
/// run of a member, or the whole read-back); `published` (when given) are all ids ever sent, so
/// an id seen but only published, not acknowledged, is no surprise.
judgement judge(const std::vector<std::string>& expected, const std::vector<std::vector<seen>>& lists,
                const std::vector<std::string>* published = nullptr);

// ---- Kafka, directly (librdkafka; blocking, for the director outside any io_context) ------------

/// Creates `topic` with `partitions` and `replication`, plus topic configs (and `topic`.dlq).
void create_topic(const std::string& brokers, const std::string& topic, int partitions, int replication,
                  const std::map<std::string, std::string>& configs = {});
/// Reads every partition of `topic` from its start to its end now: each chaos.tick seen, in
/// offset order per partition. Records that are not ticks are counted in `others`.
std::vector<seen> read_back(const std::string& brokers, const std::string& topic, std::int64_t* others = nullptr);
/// Each partition's end offset (high watermark).
std::map<std::int32_t, std::int64_t> end_offsets(const std::string& brokers, const std::string& topic);
/// The group's committed offset per partition (-1: none).
std::map<std::int32_t, std::int64_t> committed_offsets(const std::string& brokers, const std::string& group,
                                                       const std::string& topic);
/// Publishes `count` ticks over `keys` keys with our producer; returns their ids (all acked, or throws).
std::vector<std::string> publish_ticks(const std::string& brokers, const std::string& topic, std::int64_t count,
                                       int keys, std::size_t pad_bytes = 0, std::string compression = "snappy");

// ---- scenarios ----------------------------------------------------------------------------------

figures broker_kill(const options& o);
figures leader_failover(const options& o);
figures consumer_crash(const options& o, cluster& single);
figures rebalance_churn(const options& o, cluster& single);
figures poison(const options& o, cluster& single);
figures backpressure(const options& o, cluster& single);

/// The child of consumer-crash and rebalance-churn: `txova-chaos member ...`.
int member_main(int argc, char** argv);

}  // namespace chaos
