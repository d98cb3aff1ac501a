#pragma once
// What the producer needs from librdkafka, as an interface (a port): the producer's logic
// (producer_core, around publish_fsm) runs against it; src/producer_wire.cpp adapts librdkafka's
// C API to it; unit tests and the test kit put fakes in its place. No librdkafka types here.
//
// Contract: events reach the sink on the producer's executor, never from inside a call the
// producer made to the port (no re-entrancy), and never after stop().
#include <txova/kafka/detail/publish_fsm.hpp>

#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <utility>

namespace txova::kafka::detail {

using header_view = std::pair<std::string_view, std::string_view>;

/// One message to hand over. `key` and `value` stay valid until its delivery report (the
/// pending publish owns them); `headers` only during the produce call (they are copied).
struct outgoing_message {
  std::string_view topic;
  std::optional<std::string_view> key;    ///< nullopt: no key
  std::optional<std::string_view> value;  ///< nullopt: a tombstone
  std::span<const header_view> headers;
  std::int32_t partition = -1;  ///< -1: the partitioner picks
  void* opaque = nullptr;       ///< handed back with the delivery report
};

/// A delivery report. The views are valid during the on_delivery call only.
struct delivery_report {
  void* opaque = nullptr;
  boost::system::error_code ec;  ///< success, or why the message was not delivered
  std::string_view error_text;
  persistence status = persistence::not_persisted;
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  std::int64_t timestamp_ms = -1;  ///< the broker's timestamp (-1: none)
};

/// What the producer hears from the port.
class producer_events {
public:
  virtual void on_delivery(const delivery_report& r) = 0;
  /// A batch of reports was handled: librdkafka's queue may have room again.
  virtual void on_room() = 0;
  /// An error of the client, not of one message. `fatal`: the client can produce no more.
  virtual void on_client_error(boost::system::error_code ec, std::string_view text, bool fatal) = 0;
  /// The result of probe(id): success when the cluster answered.
  virtual void on_probe_result(std::uint64_t id, boost::system::error_code ec, std::string_view detail) = 0;

protected:
  ~producer_events() = default;
};

class producer_port {
public:
  virtual ~producer_port() = default;
  /// Events go to `sink` from now on.
  virtual void start(producer_events& sink) = 0;
  /// Hands `m` over; a refusal sets `ec` (with produce_result::never_fits or a delivery
  /// failure to report) and `text` says why.
  enum class outcome { accepted, queue_full, refused };
  virtual outcome produce(const outgoing_message& m, boost::system::error_code& ec, std::string& text) = 0;
  /// Messages the client holds (queued or in flight).
  virtual std::size_t queue_depth() const = 0;
  /// Fails every message the client holds; their reports follow.
  virtual void purge() = 0;
  /// Fails the messages not yet sent (never stored: reports say purged from the queue), e.g.
  /// when the brokers refused the client's login and they would wait for delivery_timeout.
  virtual void purge_queued() = 0;
  /// A round trip to the cluster within `timeout`; answered by on_probe_result(id).
  virtual void probe(std::uint64_t id, std::chrono::milliseconds timeout) = 0;
  /// While busy, the port keeps its executor's run() from returning (reports are awaited).
  /// Idle, it still serves events (errors, logs) but holds no work.
  virtual void set_busy(bool busy) = 0;
  /// No more events; the port is destroyed next.
  virtual void stop() noexcept = 0;
};

}  // namespace txova::kafka::detail
