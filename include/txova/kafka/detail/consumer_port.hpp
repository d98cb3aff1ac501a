#pragma once
// What the consumer needs from librdkafka, as an interface (a port): the consumer's logic
// (consumer_core, around partition_fsm) runs against it; src/consumer_wire.cpp adapts
// librdkafka's C API to it; unit tests put a fake in its place. No librdkafka types here.
//
// Contract: events reach the sink on the consumer's executor, never after stop(), and never
// from inside a call the consumer made to the port, except that a commit, assign or unassign
// may be answered by an event during the next drain, not during the call.
#include <txova/kafka/record.hpp>

#include <boost/system/error_code.hpp>

#include <chrono>
#include <memory>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace txova::kafka::detail {

struct topic_partition {
  std::string topic;
  std::int32_t partition = -1;
  friend bool operator==(const topic_partition&, const topic_partition&) = default;
};

struct partition_offset {
  std::string topic;
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  boost::system::error_code ec;  ///< in a commit result: this partition's outcome
};

/// What the consumer hears from the port.
class consumer_events {
public:
  /// A fetched record, or one librdkafka could not read (record.error() set, offset known).
  virtual void on_record(consumed_record r) = 0;
  /// An error about a partition, not a record (authorization, a topic that went away, ...):
  /// nothing at that offset is skipped; fetching resumes when the error clears.
  virtual void on_partition_error(std::string_view topic, std::int32_t partition, boost::system::error_code ec,
                                  std::string_view text) = 0;
  /// librdkafka read the partition to its end, `offset` (only with enable.partition.eof): every
  /// record before it has come through on_record.
  virtual void on_partition_end(std::string_view topic, std::int32_t partition, std::int64_t offset) {
    (void)topic, (void)partition, (void)offset;
  }
  virtual void on_assigned(std::vector<topic_partition> parts) = 0;
  /// `lost`: revoked without a chance to commit (the session timed out, a fatal error).
  virtual void on_revoked(std::vector<topic_partition> parts, bool lost) = 0;
  /// A commit's result: `ec` overall, each partition's own in `offsets`.
  virtual void on_commit_result(boost::system::error_code ec, std::vector<partition_offset> offsets) = 0;
  /// An error of the client. `fatal`: it can consume no more.
  virtual void on_client_error(boost::system::error_code ec, std::string_view text, bool fatal) = 0;
  /// librdkafka's statistics JSON (untrusted).
  virtual void on_statistics(std::string_view json) = 0;
  /// Our own code failed inside a librdkafka callback (caught there, never propagated).
  virtual void on_internal_error(std::string_view where, std::string_view what) = 0;

protected:
  ~consumer_events() = default;
};

/// What the test kit's handler driver (testing/handler_driver.hpp) learns from inside the
/// consumer: each failed attempt, each wait, and how each record finished. Only a port made for
/// it has one, so every other consumer pays a null check per record and nothing more.
class consumer_probe {
public:
  enum class verdict { handled, skipped, dead_lettered };
  /// A handler attempt on `r` failed: why, and whether handler_timeout cut it.
  virtual void attempt_failed(const consumed_record& r, int attempt, std::string_view reason, bool timed_out) = 0;
  /// The consumer is about to wait `delay` on the partition (a retry's backoff, a DLQ write's).
  /// True: the wait is virtual and ends at once.
  virtual bool waits(std::string_view topic, std::int32_t partition, std::chrono::milliseconds delay) = 0;
  /// `r` is finished: its offset is committed next. `reason`: why it was skipped or dead-lettered;
  /// `handler_calls`: the attempts of a handler on it (0: none ran, e.g. it was not an envelope).
  virtual void finished(const consumed_record& r, verdict v, std::string_view reason, int handler_calls) = 0;

protected:
  ~consumer_probe() = default;
};

class consumer_port {
public:
  virtual ~consumer_port() = default;
  /// The probe of a test kit port; null for every other.
  virtual consumer_probe* probe() noexcept { return nullptr; }
  virtual void start(consumer_events& sink) = 0;
  /// Joins the group for `topics`.
  virtual boost::system::error_code subscribe(const std::vector<std::string>& topics) = 0;
  /// Answers an assignment (eager: the whole set; cooperative: the increment), then makes sure
  /// each partition's records reach the consumer.
  virtual boost::system::error_code assign(const std::vector<topic_partition>& parts) = 0;
  /// Answers a revocation once its partitions are finished.
  virtual boost::system::error_code unassign(const std::vector<topic_partition>& parts) = 0;
  /// Commits asynchronously; the result comes as on_commit_result.
  virtual boost::system::error_code commit(const std::vector<partition_offset>& offsets) = 0;
  /// Holds a partition's fetched records back from the consumer (backpressure), or lets them go.
  virtual void hold(std::string_view topic, std::int32_t partition, bool held) = 0;
  /// A held partition whose own queue has more than `max_records` fetched records stops fetching
  /// and drops them; they are fetched again from where the consumer is when released. What
  /// bounds the memory of a partition held for long. Returns whether it was stopped now.
  virtual bool trim_held(std::string_view topic, std::int32_t partition, std::size_t max_records) = 0;
  /// The partition's low and high watermarks as last seen, if known.
  virtual std::optional<std::pair<std::int64_t, std::int64_t>> watermarks(std::string_view topic,
                                                                          std::int32_t partition) const = 0;
  /// Leaves the group; its revocation arrives as on_revoked. closed() tells when it is done.
  virtual boost::system::error_code close() = 0;
  virtual bool closed() const = 0;
  /// When the client's queue was last polled.
  virtual std::chrono::steady_clock::time_point last_poll() const = 0;
  /// While busy the port keeps the io_context running and polls the client.
  virtual void set_busy(bool busy) = 0;
  /// Polls now (after an operation that queued events without a wakeup).
  virtual void poke() = 0;
  /// No more events; the port is destroyed next (records may keep the client alive longer).
  virtual void stop() noexcept = 0;
};

}  // namespace txova::kafka::detail

#include <boost/asio/any_io_executor.hpp>

namespace txova::kafka {
struct consumer_config;
namespace detail {
/// The port over librdkafka (src/consumer_wire.cpp): what every consumer uses unless told otherwise.
std::unique_ptr<consumer_port> make_rdkafka_consumer_port(boost::asio::any_io_executor ex, const consumer_config& cfg);
}  // namespace detail
}  // namespace txova::kafka
