#pragma once
// Drains a librdkafka event queue on an Asio executor, without threads of our own.
//
// librdkafka writes to an eventfd when the queue goes from empty to non-empty
// (rd_kafka_queue_io_event_enable); a posix::stream_descriptor waits for that, and the handler
// then polls the queue with a zero timeout until it is empty. Because the wakeup fires only on
// the empty-to-non-empty edge, a drain that stops early (batch limit, to stay fair to other
// work on the io_context) re-posts itself instead of waiting for the fd.
//
// The pump waits only while it is active: an idle client must not keep io_context::run() from
// returning, just as an idle socket does not. Owners activate it while they have operations
// outstanding. Not thread-safe: call it on its executor.

#include <librdkafka/rdkafka.h>

#include <boost/asio/any_io_executor.hpp>

#include <functional>
#include <memory>

namespace txova::kafka::detail {

class event_pump {
public:
  /// Called on the executor for each event; the event is destroyed after the call returns.
  using handler = std::function<void(rd_kafka_event_t*)>;

  /// `queue` must outlive the pump. Events are delivered only while it is active.
  event_pump(boost::asio::any_io_executor ex, rd_kafka_queue_t* queue, handler on_event,
             std::size_t batch_limit = 1024);
  ~event_pump();
  event_pump(const event_pump&) = delete;
  event_pump& operator=(const event_pump&) = delete;

  /// Starts waiting for events (drains what is queued first).
  void activate();
  /// Stops waiting; queued events stay in librdkafka's queue until the next activate().
  void deactivate();
  bool active() const noexcept;
  /// Stops waiting; events still queued stay in librdkafka's queue. Safe to call twice.
  void stop();

private:
  struct state;
  std::shared_ptr<state> state_;
};

}  // namespace txova::kafka::detail
