#pragma once
// The admin client's core (private): the librdkafka handle, its event queue on the executor,
// the requests waiting for results, and what a refused login does to them. admin.cpp and
// admin_ensure.cpp build the operations on it.
#include <txova/kafka/admin.hpp>

#include <txova/kafka/detail/completion_queue.hpp>
#include <txova/kafka/detail/event_pump.hpp>
#include <txova/kafka/detail/rdkafka_handles.hpp>
#include <txova/kafka/detail/security_failure.hpp>
#include <txova/kafka/log.hpp>
#include <txova/kafka/rdkafka_error.hpp>

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/throw_exception.hpp>
#include <spdlog/spdlog.h>

#include <array>
#include <cstdint>
#include <chrono>
#include <optional>
#include <unordered_map>

namespace txova::kafka::detail {

using boost::system::error_code;

// A pending admin request: completes its handler from the result event, or aborts.
struct pending_op {
  virtual ~pending_op() = default;
  virtual void on_event(rd_kafka_event_t* ev) = 0;
  virtual void abort(error_code ec, const std::string& why) = 0;
};

template <class OnEvent, class OnAbort>
struct pending_fn final : pending_op {
  OnEvent on_ev;
  OnAbort on_ab;
  pending_fn(OnEvent e, OnAbort a) : on_ev(std::move(e)), on_ab(std::move(a)) {}
  void on_event(rd_kafka_event_t* ev) override { on_ev(ev); }
  void abort(error_code ec, const std::string& why) override { on_ab(ec, why); }
};

/// Each outcome of a create/delete/partitions result, with the topic named in the message.
std::vector<topic_outcome> outcomes(const rd_kafka_topic_result_t** results, std::size_t n);
inline error_code request_error(rd_kafka_event_t* ev) { return make_rdkafka_error(rd_kafka_event_error(ev)); }

class admin_core : public std::enable_shared_from_this<admin_core> {
public:
  admin_core(boost::asio::any_io_executor ex, const admin_config& cfg) : ex_(std::move(ex)), cfg_(cfg) {
    if (auto d = cfg.security.validate()) boost::throw_exception(diagnostic_error(d));
    auto props = cfg.rdkafka_properties();
    identity_ = client_identity::of(props);
    client_id_ = props["client.id"];
    props["log.queue"] = "true";
    auto conf = make_conf(props);
    if (!conf) boost::throw_exception(diagnostic_error(conf.error()));
    rd_kafka_conf_set_events(conf->get(), RD_KAFKA_EVENT_ERROR | RD_KAFKA_EVENT_LOG);
    auto client = make_client(RD_KAFKA_PRODUCER, std::move(*conf));
    if (!client) boost::throw_exception(diagnostic_error(client.error()));
    rk_ = std::move(*client);
    queue_.reset(rd_kafka_queue_new(rk_.get()));
    // Client errors and logs come with the results: a refused password fails the waiting
    // requests at once instead of after request_timeout.
    main_queue_.reset(rd_kafka_queue_get_main(rk_.get()));
    rd_kafka_set_log_queue(rk_.get(), nullptr);
    rd_kafka_queue_forward(main_queue_.get(), queue_.get());
    pump_ = std::make_unique<event_pump>(ex_, queue_.get(), [this](rd_kafka_event_t* ev) { dispatch_event(ev); });
  }

  ~admin_core() { shutdown(); }

  void shutdown() noexcept {
    if (closed_) return;
    closed_ = true;
    pump_->stop();
    auto ops = std::move(pending_);
    pending_.clear();
    for (auto& [id, op] : ops) op->abort(boost::asio::error::operation_aborted, {});
    rd_kafka_queue_forward(main_queue_.get(), nullptr);
  }

  const boost::asio::any_io_executor& executor() const { return ex_; }
  rd_kafka_t* rk() const { return rk_.get(); }
  rd_kafka_queue_t* queue() const { return queue_.get(); }

  // Completes `h` with `args` on its associated executor, never inline (completion_queue).
  template <class Handler, class... Args>
  void complete(Handler h, Args... args) {
    completions_.complete(std::move(h), std::move(args)...);
  }

  // Registers a pending request; returns the opaque to pass to librdkafka.
  // `aborted(ec, why)` makes the result an abort completes with (why: empty, or what failed).
  template <class Handler, class OnEvent, class Aborted>
  void* track(Handler& handler, OnEvent on_event, Aborted aborted) {
    const std::uint64_t id = next_id_++;
    auto slot = boost::asio::get_associated_cancellation_slot(handler);
    auto shared_handler = std::make_shared<std::optional<Handler>>(std::move(handler));
    auto on_ab = [this, shared_handler, aborted](error_code ec, const std::string& why) mutable {
      if (*shared_handler) complete(std::move(**shared_handler), ec, aborted(ec, why));
      shared_handler->reset();
    };
    auto on_ev = [shared_handler, on_event = std::move(on_event)](rd_kafka_event_t* ev) mutable {
      if (*shared_handler) on_event(std::move(**shared_handler), ev);
      shared_handler->reset();
    };
    pending_.emplace(id, std::make_unique<pending_fn<decltype(on_ev), decltype(on_ab)>>(std::move(on_ev), std::move(on_ab)));
    pump_->set_busy(true);
    if (slot.is_connected()) {
      // Cancelling stops the wait; the broker still finishes the request.
      slot.assign([weak = weak_from_this(), id](boost::asio::cancellation_type type) {
        // Only terminal: the broker still carries out the request, so the outcome is unknown.
        if (!(type & boost::asio::cancellation_type::terminal)) return;
        if (auto self = weak.lock()) self->abort(id, boost::asio::error::operation_aborted, {});
      });
    }
    // Within the window after a refused login librdkafka would wait in silence: fail at once.
    if (security_failure_ && std::chrono::steady_clock::now() - security_failure_at_ < security_failure_window)
      boost::asio::post(ex_, [weak = weak_from_this(), id] {
        if (auto self = weak.lock(); self && self->security_failure_)
          self->abort(id, self->security_failure_->code, self->security_failure_->message);
      });
    return reinterpret_cast<void*>(static_cast<std::uintptr_t>(id));
  }

  admin_options_handle options(rd_kafka_admin_op_t op, void* opaque, bool validate_only = false) {
    admin_options_handle opt(rd_kafka_AdminOptions_new(rk_.get(), op));
    std::array<char, 256> err{};
    rd_kafka_AdminOptions_set_request_timeout(opt.get(), static_cast<int>(cfg_.request_timeout.count()), err.data(), err.size());
    if (op == RD_KAFKA_ADMIN_OP_CREATETOPICS || op == RD_KAFKA_ADMIN_OP_DELETETOPICS ||
        op == RD_KAFKA_ADMIN_OP_CREATEPARTITIONS)
      rd_kafka_AdminOptions_set_operation_timeout(opt.get(), static_cast<int>(cfg_.operation_timeout.count()),
                                                  err.data(), err.size());
    if (validate_only) rd_kafka_AdminOptions_set_validate_only(opt.get(), 1, err.data(), err.size());
    rd_kafka_AdminOptions_set_opaque(opt.get(), opaque);
    return opt;
  }

  bool closed() const noexcept { return closed_; }

private:
  void abort(std::uint64_t id, error_code ec, const std::string& why) {
    auto it = pending_.find(id);
    if (it == pending_.end()) return;
    auto op = std::move(it->second);
    pending_.erase(it);
    if (pending_.empty()) pump_->set_busy(false);
    op->abort(ec, why);
  }

  void on_client_error(rd_kafka_event_t* ev) {
    const rd_kafka_resp_err_t err = rd_kafka_event_error(ev);
    const char* text = rd_kafka_event_error_string(ev);
    const std::string what = std::string(rd_kafka_err2name(err)) + ": " + (text ? text : "");
    auto failure = security_failure(err, what, identity_);
    if (!failure) return logger()->warn("txova admin {}: {}", client_id_, what);
    logger()->error("txova admin {}: {}", client_id_, failure->message);
    security_failure_ = std::move(failure);
    security_failure_at_ = std::chrono::steady_clock::now();
    auto ops = std::move(pending_);
    pending_.clear();
    pump_->set_busy(false);
    for (auto& [id, op] : ops) op->abort(security_failure_->code, security_failure_->message);
  }

  void dispatch_event(rd_kafka_event_t* ev) {
    switch (rd_kafka_event_type(ev)) {
      case RD_KAFKA_EVENT_ERROR: return on_client_error(ev);
      case RD_KAFKA_EVENT_LOG: {
        const char* fac = nullptr;
        const char* str = nullptr;
        int level = 0;
        if (rd_kafka_event_log(ev, &fac, &str, &level) == 0) log_librdkafka(client_id_, level, fac, str);
        return;
      }
      default: break;
    }
    const auto id = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(rd_kafka_event_opaque(ev)));
    auto it = pending_.find(id);
    if (it == pending_.end()) return;  // cancelled earlier: nobody waits for it
    auto op = std::move(it->second);
    pending_.erase(it);
    if (pending_.empty()) pump_->set_busy(false);
    op->on_event(ev);
  }

  boost::asio::any_io_executor ex_;
  admin_config cfg_;
  completion_queue completions_{ex_};
  kafka_handle rk_;
  queue_handle queue_;
  queue_handle main_queue_;
  std::unique_ptr<event_pump> pump_;
  client_identity identity_;
  std::string client_id_;
  std::optional<diagnostic> security_failure_;
  std::chrono::steady_clock::time_point security_failure_at_{};
  std::unordered_map<std::uint64_t, std::unique_ptr<pending_op>> pending_;
  std::uint64_t next_id_ = 1;
  bool closed_ = false;
};

}  // namespace txova::kafka::detail
