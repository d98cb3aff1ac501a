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
// The pump keeps the io_context busy only while it is active: an idle client must not keep
// io_context::run() from returning, just as an idle socket does not. Owners activate it while
// they have operations outstanding. Not thread-safe: call it on its executor.

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

  /// `queue` must outlive the pump. Events are delivered only while it is active (in callback
  /// mode also whenever a wakeup arrives).
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

  /// Starts waiting for events (drains what is queued first).
  void activate();
  /// Stops waiting; queued events stay in librdkafka's queue until the next activate().
  void deactivate();
  bool active() const noexcept;
  /// Drains now, on the executor, whatever the mode (after work that may have queued events).
  void poke();
  /// Stops for good: no more events are delivered. Safe to call twice.
  void stop();

private:
  struct state;
  std::shared_ptr<state> state_;
};

}  // namespace txova::kafka::detail
