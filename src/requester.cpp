// The requester of request-reply (request_reply.hpp): pending requests by id, their timers and
// cancellation, and the replies its reply consumer hands over. Everything runs on one strand.
#include <txova/kafka/request_reply.hpp>

#include <txova/kafka/detail/completion_queue.hpp>
#include <txova/kafka/log.hpp>

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <deque>
#include <unordered_map>
#include <unordered_set>

namespace txova::kafka {

namespace asio = boost::asio;
using boost::system::error_code;

consumer_config reply_consumer_config(consumer_config base, std::string topic, std::int32_t partition) {
  if (base.group_id.empty() && base.service.empty()) base.group_id = "requester-" + new_uuid();
  base.topics = {topic};
  base.manual_assignment = {{std::move(topic), partition}};
  base.auto_offset_reset = "latest";  // a reply is only for a request this instance sent
  base.commit_offsets = false;
  base.properties["fetch.wait.max.ms"] = "5";  // replies are latency, not throughput
  return base;
}

namespace detail {

class requester_core : public std::enable_shared_from_this<requester_core> {
public:
  requester_core(asio::any_io_executor ex, basic_producer<>& requests, requester_config cfg)
      : strand_(asio::make_strand(ex)), completions_(strand_, ex), requests_(requests), cfg_(std::move(cfg)),
        partition_text_(std::to_string(cfg_.reply_partition)) {}

  const asio::strand<asio::any_io_executor>& strand() const noexcept { return strand_; }

  void request(envelope req, std::chrono::milliseconds timeout, reply_handler h) {
    if (timeout.count() < 0) timeout = cfg_.default_timeout;
    if (closed_) return completions_.complete(std::move(h), make_error_code(error::closed), envelope{});
    if (pending_.size() >= cfg_.max_pending) return completions_.complete(std::move(h), make_error_code(error::queue_full), envelope{});
    if (req.id.empty()) req.id = new_uuid();
    if (req.correlation_id.empty()) req.correlation_id = req.id;
    if (pending_.count(req.id)) {
      logger()->warn("requester: request {} is already pending; the second one is refused", req.id);
      return completions_.complete(std::move(h), make_error_code(error::invalid_field), envelope{});
    }
    auto timer = std::make_unique<asio::steady_timer>(strand_, timeout);
    timer->async_wait([weak = weak_from_this(), id = req.id](error_code ec) {
      if (auto self = weak.lock(); self && !ec) self->end(id, make_error_code(error::timed_out), &self->timed_out_);
    });
    auto slot = asio::get_associated_cancellation_slot(h);
    if (slot.is_connected())
      slot.assign([weak = weak_from_this(), id = req.id, strand = strand_](asio::cancellation_type) {
        asio::dispatch(strand, [weak, id] {
          if (auto self = weak.lock()) self->end(id, make_error_code(asio::error::operation_aborted), &self->cancelled_);
        });
      });
    // Constructed in place: Boost 1.81's any_completion_handler move assignment recurses forever.
    pending_.emplace(req.id, entry{req.correlation_id, std::move(timer), std::move(h)});
    pending_count_ = pending_.size();
    publish_options opts;
    opts.headers = {{std::string(reply_headers::topic), cfg_.reply_topic},
                    {std::string(reply_headers::partition), partition_text_}};
    if (!cfg_.request_topic.empty()) opts.topic = cfg_.request_topic;
    if (!cfg_.event_catalog || !cfg_.event_catalog->find(req.type)) opts.key = req.correlation_id;  // no catalog key: its chain
    requests_.async_publish(req, std::move(opts),
                            asio::bind_executor(strand_, [weak = weak_from_this(), id = req.id](error_code ec, delivery d) {
                              auto self = weak.lock();
                              if (!self) return;
                              if (!ec) {
                                ++self->sent_;
                                return;
                              }
                              logger()->warn("requester: request {} could not be published: {}", id,
                                             d.error_message.empty() ? ec.message() : d.error_message);
                              self->end(id, ec, &self->failed_);
                            }));
  }

  // A record of the reply partition (on the reply consumer's strand).
  void deliver(const envelope& reply) {
    asio::dispatch(strand_, [self = shared_from_this(), reply]() mutable { self->match(std::move(reply)); });
  }

  requester_stats stats() const {
    requester_stats s;
    s.sent = sent_;
    s.answered = answered_;
    s.timed_out = timed_out_;
    s.cancelled = cancelled_;
    s.failed = failed_;
    s.late = late_;
    s.unmatched = unmatched_;
    s.pending = pending_count_;
    return s;
  }

  void close() noexcept {
    asio::dispatch(strand_, [self = shared_from_this()] {
      self->closed_ = true;
      std::vector<std::string> ids;
      for (const auto& [id, e] : self->pending_) ids.push_back(id);
      for (const auto& id : ids) self->end(id, make_error_code(error::closed), nullptr);
    });
  }

private:
  struct entry {
    std::string correlation_id;
    std::unique_ptr<asio::steady_timer> timer;
    reply_handler handler;
  };

  void match(envelope reply) {
    const std::string request_id = reply.causation_id ? *reply.causation_id : reply.correlation_id;  // a copy: reply moves on
    auto it = pending_.find(request_id);
    if (it == pending_.end()) {
      if (ended_.count(request_id)) ++late_;
      else ++unmatched_;
      return;
    }
    if (it->second.correlation_id != reply.correlation_id) {  // not this request's chain: never delivered
      ++unmatched_;
      logger()->warn("requester: reply {} names request {} but correlation {} (the request's is {}); dropped", reply.id,
                     request_id, reply.correlation_id, it->second.correlation_id);
      return;
    }
    ++answered_;
    end(request_id, {}, nullptr, std::move(reply));
  }

  // Ends a pending request (once): its handler gets `ec` (and the reply).
  void end(const std::string& id, error_code ec, std::atomic<std::uint64_t>* counter, envelope reply = {}) {
    auto it = pending_.find(id);
    if (it == pending_.end()) return;
    entry e = std::move(it->second);
    pending_.erase(it);
    pending_count_ = pending_.size();
    if (counter) ++*counter;
    if (e.timer) e.timer->cancel();
    remember(id);
    completions_.complete(std::move(e.handler), ec, std::move(reply));
  }

  void remember(const std::string& id) {
    if (cfg_.remembered == 0) return;
    if (ended_order_.size() >= cfg_.remembered) {
      ended_.erase(ended_order_.front());
      ended_order_.pop_front();
    }
    if (ended_.insert(id).second) ended_order_.push_back(id);
  }

  asio::strand<asio::any_io_executor> strand_;
  completion_queue completions_;
  basic_producer<>& requests_;
  requester_config cfg_;
  std::string partition_text_;
  std::unordered_map<std::string, entry> pending_;
  std::unordered_set<std::string> ended_;
  std::deque<std::string> ended_order_;
  bool closed_ = false;
  std::atomic<std::uint64_t> sent_{0}, answered_{0}, timed_out_{0}, cancelled_{0}, failed_{0}, late_{0}, unmatched_{0};
  std::atomic<std::size_t> pending_count_{0};
};

std::shared_ptr<requester_core> make_requester_core(asio::any_io_executor ex, basic_producer<>& requests, router& replies,
                                                    requester_config cfg) {
  if (cfg.reply_topic.empty())
    throw diagnostic_error(make_diagnostic(error::invalid_config, "reply_topic", "requester_config.reply_topic is empty"));
  if (cfg.reply_partition < 0)
    throw diagnostic_error(make_diagnostic(error::invalid_config, "reply_partition",
                                           "requester_config.reply_partition " + std::to_string(cfg.reply_partition) + " is negative"));
  auto core = std::make_shared<requester_core>(std::move(ex), requests, std::move(cfg));
  replies.fallback([weak = std::weak_ptr<requester_core>(core)](const envelope& e, message_context&) -> asio::awaitable<void> {
    if (auto c = weak.lock()) c->deliver(e);
    co_return;
  });
  return core;
}

void start_request(const std::shared_ptr<requester_core>& core, envelope request, std::chrono::milliseconds timeout,
                   reply_handler h) {
  // The pending entry is made on the requester's strand.
  asio::dispatch(core->strand(), [core, request = std::move(request), timeout, h = std::move(h)]() mutable {
    core->request(std::move(request), timeout, std::move(h));
  });
}

requester_stats stats(const requester_core& core) { return core.stats(); }
void close(requester_core& core) noexcept { core.close(); }

}  // namespace detail
}  // namespace txova::kafka
