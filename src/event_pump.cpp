#include <txova/kafka/detail/event_pump.hpp>

#include <txova/kafka/log.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/system/system_error.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <optional>
#include <sys/eventfd.h>
#include <unistd.h>

namespace txova::kafka::detail {

struct event_pump::state : std::enable_shared_from_this<state> {
  boost::asio::any_io_executor ex;
  std::optional<boost::asio::posix::stream_descriptor> fd;  // fd mode only
  rd_kafka_queue_t* queue;
  handler on_event;
  batch_drainer drain_batch;  // instead of on_event, when set
  std::size_t batch_limit;
  bool stopped = false;
  bool busy = false;
  bool waiting = false;       // fd mode: an async_wait is outstanding
  bool fd_enabled = false;    // librdkafka wakes us through the fd (else through the callback)
  std::atomic<bool> drain_posted{false};
  // Callback mode: outstanding work stands in for the fd wait while busy.
  std::optional<boost::asio::executor_work_guard<boost::asio::any_io_executor>> work;

  state(boost::asio::any_io_executor e, rd_kafka_queue_t* q, handler h, std::size_t limit)
      : ex(std::move(e)), queue(q), on_event(std::move(h)), batch_limit(limit) {}

  // Which wakeup librdkafka uses. Both share the queue's one wakeup slot; switching takes the
  // queue's lock, so no stale wakeup of the other kind runs afterwards.
  void use_fd(bool on) {
    if (!fd || on == fd_enabled) return;
    fd_enabled = on;
    if (on) {
      static constexpr std::uint64_t one = 1;  // eventfd needs an 8-byte counter increment
      rd_kafka_queue_io_event_enable(queue, fd->native_handle(), &one, sizeof one);
    } else {
      rd_kafka_queue_io_event_enable(queue, -1, nullptr, 0);
      rd_kafka_queue_cb_event_enable(queue, &on_wakeup, this);
    }
  }

  void wait() {
    if (!fd || !fd_enabled || waiting) return;
    waiting = true;
    fd->async_wait(boost::asio::posix::stream_descriptor::wait_read,
                   [self = shared_from_this()](boost::system::error_code ec) {
                     self->waiting = false;
                     // Aborted by going idle: if busy again meanwhile, go on waiting.
                     if (self->stopped || !self->busy) return;
                     if (!ec) {
                       std::uint64_t count = 0;
                       (void)::read(self->fd->native_handle(), &count, sizeof count);  // reset the eventfd
                     }
                     self->drain();
                   });
  }

  // May run on a librdkafka thread (callback wakeups): touches only the atomic and the
  // executor, and lets nothing escape into librdkafka.
  void post_drain() noexcept {
    if (drain_posted.exchange(true)) return;
    try {
      boost::asio::post(ex, [weak = weak_from_this()] {
        auto self = weak.lock();
        if (!self) return;
        self->drain_posted = false;
        if (!self->stopped) self->drain();
      });
    } catch (...) {
      drain_posted = false;  // nothing to post to (an executor torn down): the next wakeup retries
    }
  }

  // True when the handler completed; an exception is logged and the drain goes on: one bad
  // event must not stop a client from reading the rest of its queue.
  template <class F>
  static bool guarded(F&& f) noexcept {
    try {
      f();
      return true;
    } catch (const std::exception& e) {
      try {
        logger()->error("txova: failure while handling a librdkafka event: {}", e.what());
      } catch (...) {
      }
    } catch (...) {
      try {
        logger()->error("txova: failure while handling a librdkafka event");
      } catch (...) {
      }
    }
    return false;
  }

  void drain() {
    if (drain_batch) return drain_batches();
    for (std::size_t n = 0; n < batch_limit; ++n) {
      if (stopped) return;
      rd_kafka_event_t* ev = rd_kafka_queue_poll(queue, 0);
      if (!ev) {
        if (busy) wait();
        return;
      }
      std::unique_ptr<rd_kafka_event_t, decltype(&rd_kafka_event_destroy)> owned(ev, &rd_kafka_event_destroy);
      guarded([&] { on_event(ev); });
    }
    // The queue may still hold events and will not signal again until it has been empty.
    post_drain();
  }

  void drain_batches() {
    std::size_t taken = 0;
    while (taken < batch_limit) {
      if (stopped) return;
      std::size_t n = 0;
      if (!guarded([&] { n = drain_batch(batch_limit - taken); })) break;
      if (n == 0) {
        if (busy) wait();
        return;
      }
      taken += n;
    }
    post_drain();
  }

  static void on_wakeup(rd_kafka_t*, void* opaque) noexcept { static_cast<state*>(opaque)->post_drain(); }
};

event_pump::event_pump(boost::asio::any_io_executor ex, rd_kafka_queue_t* queue, batch_drainer drain, mode m,
                       std::size_t batch_limit)
    : event_pump(std::move(ex), queue, handler{}, m, batch_limit) {
  state_->drain_batch = std::move(drain);
}

event_pump::event_pump(boost::asio::any_io_executor ex, rd_kafka_queue_t* queue, handler on_event, mode m,
                       std::size_t batch_limit)
    : state_(std::make_shared<state>(std::move(ex), queue, std::move(on_event), batch_limit)) {
  if (m == mode::fd) {
    const int efd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (efd < 0)
      throw boost::system::system_error(boost::system::error_code(errno, boost::system::system_category()),
                                        "eventfd for a librdkafka queue");
    state_->fd.emplace(state_->ex, efd);
  }
  rd_kafka_queue_cb_event_enable(queue, &state::on_wakeup, state_.get());  // idle: the callback serves it
}

event_pump::~event_pump() { stop(); }

void event_pump::set_busy(bool busy) {
  auto& s = *state_;
  if (s.stopped || s.busy == busy) return;
  s.busy = busy;
  if (busy) {
    if (s.fd) s.use_fd(true);
    else s.work.emplace(s.ex);
    // Events may already be queued (no edge will come for them): drain once first.
    s.post_drain();
    return;
  }
  s.work.reset();
  if (s.fd) {
    s.use_fd(false);
    if (s.waiting) {
      boost::system::error_code ignored;
      s.fd->cancel(ignored);
    }
    // Whatever arrived while switching found the fd, not the callback: look once.
    s.post_drain();
  }
}

bool event_pump::busy() const noexcept { return state_->busy; }

void event_pump::poke() {
  if (!state_->stopped) state_->post_drain();
}

void event_pump::stop() {
  if (!state_ || state_->stopped) return;
  auto& s = *state_;
  s.stopped = true;
  s.busy = false;
  s.work.reset();
  // Disabling takes the queue's lock, so no wakeup callback runs once this returns.
  rd_kafka_queue_io_event_enable(s.queue, -1, nullptr, 0);
  rd_kafka_queue_cb_event_enable(s.queue, nullptr, nullptr);
  if (s.fd) {
    boost::system::error_code ignored;
    s.fd->cancel(ignored);
  }
}

}  // namespace txova::kafka::detail
