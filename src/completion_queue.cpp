#include <txova/kafka/detail/completion_queue.hpp>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

#include <vector>

namespace txova::kafka::detail {

struct completion_queue::state {
  explicit state(boost::asio::any_io_executor e) : ex(std::move(e)) {}
  boost::asio::any_io_executor ex;
  std::vector<boost::asio::any_completion_handler<void()>> ready;  // in completion order
  bool posted = false;

  static void run(const std::shared_ptr<state>& s) {
    auto batch = std::move(s->ready);
    s->ready.clear();
    s->posted = false;
    for (auto& fn : batch) {
      auto ex = boost::asio::get_associated_executor(fn, s->ex);
      boost::asio::dispatch(ex, std::move(fn));
    }
  }
};

completion_queue::completion_queue(boost::asio::any_io_executor ex) : state_(std::make_shared<state>(std::move(ex))) {}

const boost::asio::any_io_executor& completion_queue::executor() const noexcept { return state_->ex; }

void completion_queue::push(boost::asio::any_completion_handler<void()> fn) {
  state_->ready.push_back(std::move(fn));
  if (state_->posted) return;
  state_->posted = true;
  boost::asio::post(state_->ex, [s = state_] { state::run(s); });
}

}  // namespace txova::kafka::detail
