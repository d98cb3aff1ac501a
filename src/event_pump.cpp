#include <txova/kafka/detail/event_pump.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/system/system_error.hpp>

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
  bool active = false;   // somebody waits for events: keep the io_context busy
  bool waiting = false;  // fd mode: an async_wait is outstanding
  std::atomic<bool> drain_posted{false};
  // Callback mode: outstanding work stands in for the fd wait while active.
  std::optional<boost::asio::executor_work_guard<boost::asio::any_io_executor>> work;

  state(boost::asio::any_io_executor e, rd_kafka_queue_t* q, handler h, std::size_t limit)
      : ex(std::move(e)), queue(q), on_event(std::move(h)), batch_limit(limit) {}

  void wait() {
    if (!fd || waiting) return;
    waiting = true;
    fd->async_wait(boost::asio::posix::stream_descriptor::wait_read,
                   [self = shared_from_this()](boost::system::error_code ec) {
                     self->waiting = false;
                     // Aborted by deactivate(): if activated again meanwhile, go on waiting.
                     if (self->stopped || !self->active) return;
                     if (!ec) {
                       std::uint64_t count = 0;
                       (void)::read(self->fd->native_handle(), &count, sizeof count);  // reset the eventfd
                     }
                     self->drain();
                   });
  }

  // May run on a librdkafka thread (callback mode): touches only the atomic and the executor.
  void post_drain() {
    if (drain_posted.exchange(true)) return;
    boost::asio::post(ex, [weak = weak_from_this()] {
      auto self = weak.lock();
      if (!self) return;
      self->drain_posted = false;
      if (!self->stopped) self->drain();
    });
  }

  void drain() {
    if (drain_batch) return drain_batches();
    for (std::size_t n = 0; n < batch_limit; ++n) {
      if (stopped) return;
      rd_kafka_event_t* ev = rd_kafka_queue_poll(queue, 0);
      if (!ev) {
        if (active) wait();
        return;
      }
      // Destroyed even if the handler throws; the drain is re-armed before the exception leaves.
      std::unique_ptr<rd_kafka_event_t, decltype(&rd_kafka_event_destroy)> owned(ev, &rd_kafka_event_destroy);
      try {
        on_event(ev);
      } catch (...) {
        post_drain();
        throw;
      }
    }
    // The queue may still hold events and will not signal again until it has been empty.
    post_drain();
  }

  void drain_batches() {
    std::size_t taken = 0;
    while (taken < batch_limit) {
      if (stopped) return;
      std::size_t n = 0;
      try {
        n = drain_batch(batch_limit - taken);
      } catch (...) {
        post_drain();
        throw;
      }
      if (n == 0) {
        if (active) wait();
        return;
      }
      taken += n;
    }
    post_drain();
  }

  static void on_wakeup(rd_kafka_t*, void* opaque) { static_cast<state*>(opaque)->post_drain(); }
};

event_pump::event_pump(boost::asio::any_io_executor ex, rd_kafka_queue_t* queue, batch_drainer drain, mode m,
                       std::size_t batch_limit)
    : event_pump(std::move(ex), queue, handler{}, m, batch_limit) {
  state_->drain_batch = std::move(drain);
}

event_pump::event_pump(boost::asio::any_io_executor ex, rd_kafka_queue_t* queue, handler on_event, mode m,
                       std::size_t batch_limit)
    : state_(std::make_shared<state>(std::move(ex), queue, std::move(on_event), batch_limit)) {
  if (m == mode::callback) {
    rd_kafka_queue_cb_event_enable(queue, &state::on_wakeup, state_.get());
    return;
  }
  const int efd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (efd < 0)
    throw boost::system::system_error(boost::system::error_code(errno, boost::system::system_category()),
                                      "eventfd for a librdkafka queue");
  state_->fd.emplace(state_->ex, efd);
  static constexpr std::uint64_t one = 1;  // eventfd needs an 8-byte counter increment
  rd_kafka_queue_io_event_enable(queue, efd, &one, sizeof one);
}

event_pump::~event_pump() { stop(); }

void event_pump::activate() {
  if (state_->stopped || state_->active) return;
  state_->active = true;
  if (!state_->fd) state_->work.emplace(state_->ex);
  // Events may already be queued (no edge will come for them): drain once first.
  state_->post_drain();
}

void event_pump::deactivate() {
  if (state_->stopped || !state_->active) return;
  state_->active = false;
  state_->work.reset();
  if (state_->fd && state_->waiting) {
    boost::system::error_code ignored;
    state_->fd->cancel(ignored);
  }
}

bool event_pump::active() const noexcept { return state_->active; }

void event_pump::poke() {
  if (!state_->stopped) state_->post_drain();
}

void event_pump::stop() {
  if (!state_ || state_->stopped) return;
  state_->stopped = true;
  state_->active = false;
  state_->work.reset();
  // Disabling takes the queue's lock, so no wakeup callback runs once this returns.
  if (state_->fd) {
    rd_kafka_queue_io_event_enable(state_->queue, -1, nullptr, 0);
    boost::system::error_code ignored;
    state_->fd->cancel(ignored);
  } else {
    rd_kafka_queue_cb_event_enable(state_->queue, nullptr, nullptr);
  }
}

}  // namespace txova::kafka::detail
