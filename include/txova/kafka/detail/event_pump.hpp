#pragma once
// Drains a librdkafka event queue on an Asio executor, without threads of our own.
//
// Two ways to learn that the queue has events, both triggered by librdkafka when the queue goes
// from empty to non-empty:
//  - fd: librdkafka writes an eventfd (rd_kafka_queue_io_event_enable); a stream_descriptor
//    waits for it in the io_context's reactor;
//  - callback: librdkafka calls us from its thread (rd_kafka_queue_cb_event_enable) and we post
//    a drain to the executor.
// A drain polls the queue with a zero timeout until it is empty. Because the wakeup fires only
// on the empty-to-non-empty edge, a drain that stops early (batch limit, to stay fair to other
// work on the io_context) re-posts itself instead of waiting for the next wakeup.
//
// Busy and idle: while its owner waits for librdkafka (publishes in flight, a consumer running)
// the pump is busy and keeps the io_context's run() from returning, as a pending socket read
// does. Idle, it holds no work, yet still serves the queue: librdkafka's callback posts a drain
// (in fd mode the pump switches to the callback while idle), so errors and logs of an idle
// client are read when they happen, not at its next operation. Not thread-safe: call it on its
// executor. Exceptions thrown by the handler are caught and logged, never propagated into
// librdkafka or the io_context.

#include <librdkafka/rdkafka.h>

#include <boost/asio/any_io_executor.hpp>

#include <functional>
#include <memory>

namespace txova::kafka::detail {

class event_pump {
public:
  /// Called on the executor for each event; the event is destroyed after the call returns.
  using handler = std::function<void(rd_kafka_event_t*)>;
  enum class mode { fd, callback };

  /// `queue` must outlive the pump. Starts idle: events are served, no work is held.
  event_pump(boost::asio::any_io_executor ex, rd_kafka_queue_t* queue, handler on_event, mode m = mode::fd,
             std::size_t batch_limit = 1024);
  /// Takes up to `max` items from the queue itself (rd_kafka_consume_batch_queue, which also
  /// serves callbacks) and returns how many it took; 0 means the queue is empty.
  using batch_drainer = std::function<std::size_t(std::size_t max)>;
  event_pump(boost::asio::any_io_executor ex, rd_kafka_queue_t* queue, batch_drainer drain, mode m,
             std::size_t batch_limit);
  ~event_pump();
  event_pump(const event_pump&) = delete;
  event_pump& operator=(const event_pump&) = delete;

  /// Busy: keep the io_context running while waiting for events. Idle: serve them, hold no work.
  void set_busy(bool busy);
  bool busy() const noexcept;
  /// Drains now, on the executor (after work that may have queued events without a wakeup).
  void poke();
  /// Stops for good: no more events are delivered, no librdkafka callback runs after it returns.
  /// Safe to call twice.
  void stop();

private:
  struct state;
  std::shared_ptr<state> state_;
};

}  // namespace txova::kafka::detail
