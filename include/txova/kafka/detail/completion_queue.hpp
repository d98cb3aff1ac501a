#pragma once
// Completes handlers of asynchronous operations: the one place producer, consumer and admin
// hand results back to their callers.
//
// Never inline: a handler may resume a coroutine that starts another operation, cancels others
// or destroys the client, none of which may happen inside the client's own loops. Completions are
// queued and one posted function runs the queue, so a batch of delivery reports costs one post,
// not one per publish; each handler is then dispatched to its own associated executor (the
// client's when it has none). The queue outlives its client: what was queued before the client
// was destroyed still completes.
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/bind_executor.hpp>

#include <memory>
#include <utility>

namespace txova::kafka::detail {

class completion_queue {
public:
  /// The queue runs on `run_on` (the client's strand); a handler without an associated
  /// executor completes on `handler_default` (the executor the client was made with).
  completion_queue(boost::asio::any_io_executor run_on, boost::asio::any_io_executor handler_default);
  explicit completion_queue(boost::asio::any_io_executor ex) : completion_queue(ex, ex) {}

  /// Queues `h(args...)`. The handler's cancellation slot is cleared first: once an operation
  /// completes, a late cancellation must not reach it.
  template <class Handler, class... Args>
  void complete(Handler h, Args... args) {
    auto slot = boost::asio::get_associated_cancellation_slot(h);
    if (slot.is_connected()) slot.clear();
    auto ex = boost::asio::get_associated_executor(h, handler_executor());
    push(boost::asio::bind_executor(
        ex, [h = std::move(h), ... args = std::move(args)]() mutable { std::move(h)(std::move(args)...); }));
  }

  const boost::asio::any_io_executor& handler_executor() const noexcept;

private:
  void push(boost::asio::any_completion_handler<void()> fn);
  struct state;
  std::shared_ptr<state> state_;
};

}  // namespace txova::kafka::detail
