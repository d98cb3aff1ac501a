#include <txova/kafka/detail/completion_queue.hpp>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

#include <vector>

namespace txova::kafka::detail {

struct completion_queue::state {
  state(boost::asio::any_io_executor e, boost::asio::any_io_executor h) : ex(std::move(e)), handler_ex(std::move(h)) {}
  boost::asio::any_io_executor ex;          // where the queue runs
  boost::asio::any_io_executor handler_ex;  // handlers without an executor of their own
  std::vector<boost::asio::any_completion_handler<void()>> ready;  // in completion order
  // An empty vector with capacity, so that a batch does not regrow `ready` from nothing for
  // every burst of delivery reports.
  std::vector<boost::asio::any_completion_handler<void()>> spare;
  bool posted = false;

  static void run(const std::shared_ptr<state>& s) {
    // A local batch, so that a handler that runs the io_context itself (a nested run) works.
    std::vector<boost::asio::any_completion_handler<void()>> batch;
    batch.swap(s->spare);
    batch.swap(s->ready);  // `ready` now holds the spare capacity
    s->posted = false;
    for (auto& fn : batch) {
      auto ex = boost::asio::get_associated_executor(fn, s->handler_ex);
      boost::asio::dispatch(ex, std::move(fn));
    }
    batch.clear();
    if (batch.capacity() > s->spare.capacity()) s->spare.swap(batch);
  }
};

completion_queue::completion_queue(boost::asio::any_io_executor run_on, boost::asio::any_io_executor handler_default)
    : state_(std::make_shared<state>(std::move(run_on), std::move(handler_default))) {}

const boost::asio::any_io_executor& completion_queue::handler_executor() const noexcept { return state_->handler_ex; }

namespace {
// The posted function. Destroyed without running (its io_context destroyed first), it drops the
// queued handlers: one of them may own the client that owns the queue, a cycle nothing else
// would break.
template <class State>
struct runner {
  std::shared_ptr<State> s;
  explicit runner(std::shared_ptr<State> st) : s(std::move(st)) {}
  runner(runner&& o) noexcept : s(std::move(o.s)) {}
  runner& operator=(runner&&) = delete;
  ~runner() {
    if (!s) return;
    auto dropped = std::move(s->ready);
    s->ready.clear();
    s->posted = false;
  }
  void operator()() {
    auto st = std::move(s);
    State::run(st);
  }
};
}  // namespace

void completion_queue::push(boost::asio::any_completion_handler<void()> fn) {
  state_->ready.push_back(std::move(fn));
  if (state_->posted) return;
  state_->posted = true;
  boost::asio::post(state_->ex, runner<state>(state_));
}

}  // namespace txova::kafka::detail
