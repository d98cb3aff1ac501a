#include <txova/kafka/producer.hpp>

#include <txova/kafka/detail/event_pump.hpp>
#include <txova/kafka/detail/publish_check.hpp>
#include <txova/kafka/detail/rdkafka_handles.hpp>
#include <txova/kafka/dlq.hpp>
#include <txova/kafka/log.hpp>
#include <txova/kafka/rdkafka_error.hpp>
#include <txova/kafka/retry.hpp>
#include <txova/kafka/topics.hpp>

#include <boost/asio/append.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/throw_exception.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <deque>
#include <list>
#include <unordered_map>

namespace txova::kafka::detail {
namespace {

using boost::system::error_code;
using clock = std::chrono::steady_clock;

timestamp from_epoch_ms(std::int64_t ms) { return timestamp(std::chrono::milliseconds(ms)); }

}  // namespace

// What a publish sends: the encoded envelope and what its headers, logs and DLQ record need.
struct publish_fields {
  std::string value;  // librdkafka points at these bytes until the delivery report (no copy)
  std::string key;
  std::string topic;
  std::string id, type, version, source, correlation_id;
  timestamp time{};
  // A raw record (async_send): sent with exactly these headers instead of the envelope's, and
  // never dead-lettered itself (it usually is a dead letter).
  bool raw = false;
  std::vector<std::pair<std::string, std::string>> raw_headers;
};

// An envelope validated and encoded at the call to async_publish (so the caller's envelope is
// read once and never copied), or the reason it must not be sent.
struct prepared_publish : publish_fields {
  diagnostic error;
};

void prepared_deleter::operator()(prepared_publish* p) const noexcept { delete p; }

class producer_core : public std::enable_shared_from_this<producer_core> {
public:
  producer_core(boost::asio::any_io_executor ex, producer_config cfg)
      : ex_(std::move(ex)), cfg_(std::move(cfg)), routes_(cfg_.event_catalog ? *cfg_.event_catalog : txova_catalog()) {
    if (auto d = cfg_.validate()) boost::throw_exception(diagnostic_error(d));
    if (cfg_.routes) routes_ = *cfg_.routes;
    backoff_ = backoff_policy{cfg_.retry_backoff, cfg_.retry_backoff_max};
    auto props = cfg_.rdkafka_properties();
    props["log.queue"] = "true";
    auto conf = make_conf(props);
    if (!conf) boost::throw_exception(diagnostic_error(conf.error()));
    rd_kafka_conf_set_events(conf->get(), RD_KAFKA_EVENT_DR | RD_KAFKA_EVENT_ERROR | RD_KAFKA_EVENT_LOG);
    auto client = make_client(RD_KAFKA_PRODUCER, std::move(*conf));
    if (!client) boost::throw_exception(diagnostic_error(client.error()));
    rk_ = std::move(*client);
    main_queue_.reset(rd_kafka_queue_get_main(rk_.get()));
    rd_kafka_set_log_queue(rk_.get(), nullptr);  // logs to the main queue, drained with the reports
    admin_queue_.reset(rd_kafka_queue_new(rk_.get()));
    rd_kafka_queue_forward(admin_queue_.get(), main_queue_.get());
    pump_ = std::make_unique<event_pump>(
        ex_, main_queue_.get(), [this](rd_kafka_event_t* ev) { on_event(ev); },
        cfg_.wakeup == wakeup_mode::callback ? event_pump::mode::callback : event_pump::mode::fd);
  }

  ~producer_core() { destroy(); }

  // ---- publish -------------------------------------------------------------------------------

  prepared_ptr prepare_one(const envelope& e, const publish_options& opt) {
    prepared_ptr p(new prepared_publish);
    p->error = prepare(*p, e, opt);
    return p;
  }

  prepared_ptr prepare_record(producer_record r) {
    prepared_ptr p(new prepared_publish);
    p->raw = true;
    p->topic = std::move(r.topic);
    p->key = std::move(r.key);
    p->value = std::move(r.value);
    p->raw_headers = std::move(r.headers);
    for (const auto& [k, v] : p->raw_headers)
      if (k == "event-id") p->id = v;
      else if (k == "correlation-id") p->correlation_id = v;
    if (p->topic.empty()) p->error = make_diagnostic(error::invalid_field, "topic", "record topic is empty");
    else if (p->value.size() > cfg_.max_message_bytes)
      p->error = make_diagnostic(error::too_large, "value",
                                 "record for topic \"" + p->topic + "\" is " + std::to_string(p->value.size()) +
                                     " bytes, over max_message_bytes " + std::to_string(cfg_.max_message_bytes));
    return p;
  }

  void publish(prepared_ptr p, publish_handler h) {
    auto op = make_op(std::move(h));
    static_cast<publish_fields&>(*op) = std::move(static_cast<publish_fields&>(*p));
    if (p->error) return fail_now(op, p->error.code, p->error.message);
    submit(op);
  }

  void publish_batch(std::vector<envelope> envelopes, batch_handler h) {
    struct batch_state {
      batch_handler handler;
      std::vector<publish_result> results;
      std::size_t remaining = 0;
      bool failed = false;
    };
    auto batch = std::make_shared<batch_state>();
    batch->handler.swap(h);  // Boost 1.81: any_completion_handler move-assignment recurses; swap does not
    batch->results.resize(envelopes.size());
    batch->remaining = envelopes.size();
    if (envelopes.empty()) return complete(std::move(batch->handler), error_code{}, std::vector<publish_result>{});

    auto sink = [this, batch](std::size_t i) {
      return [this, self = shared_from_this(), batch, i](error_code ec, delivery d) {
        batch->results[i] = {ec, std::move(d)};
        batch->failed |= ec.failed();
        if (--batch->remaining == 0)
          complete(std::move(batch->handler), batch->failed ? make_error_code(error::batch_incomplete) : error_code{}, std::move(batch->results));
      };
    };
    // Validate everything first: one invalid envelope and nothing is sent.
    std::vector<op_ptr> ops;
    error_code first_invalid;
    for (std::size_t i = 0; i < envelopes.size(); ++i) {
      auto op = make_op(publish_handler(sink(i)));
      if (auto d = prepare(*op, envelopes[i], {})) {
        batch->results[i] = {d.code, delivery{op->topic, -1, -1, {}, 0, {}, "envelope " + std::to_string(i) + ": " + d.message}};
        if (!first_invalid) first_invalid = d.code;
        ++stats_.failed;
      }
      ops.push_back(op);
    }
    if (first_invalid) {
      for (std::size_t i = 0; i < ops.size(); ++i) {
        if (!batch->results[i].ec) {
          batch->results[i] = {make_error_code(error::not_sent),
                               delivery{ops[i]->topic, -1, -1, {}, 0, {}, "not sent: another envelope of the batch is invalid"}};
        }
        release(ops[i]);
      }
      return complete(std::move(batch->handler), first_invalid, std::move(batch->results));
    }
    for (auto& op : ops) submit(op);
  }

  // ---- flush, close, health -----------------------------------------------------------------

  void flush(std::chrono::milliseconds timeout, flush_handler h) {
    // Done when librdkafka holds nothing of ours, cancelled publishes included.
    if (ops_.empty()) return complete(std::move(h), error_code{}, std::size_t{0});
    auto waiter = std::make_shared<flush_waiter>(ex_);
    waiter->handler.swap(h);
    waiter->timer.expires_after(timeout);
    waiter->timer.async_wait([this, weak = std::weak_ptr<flush_waiter>(waiter), self = shared_from_this()](error_code ec) {
      auto w = weak.lock();
      if (ec || !w || !w->handler) return;
      finish_flush(*w, make_error_code(error::timed_out));
    });
    flush_waiters_.push_back(std::move(waiter));
  }

  void close(std::chrono::milliseconds timeout, close_handler h) {
    if (closing_) {
      return complete(std::move(h), make_error_code(error::closed), close_report{});
    }
    closing_ = true;
    // Publishes waiting for queue room or for a retry will not get one now.
    drop_unsent(make_error_code(error::closed), "the producer was closed before this event was sent");
    flush(timeout, [this, self = shared_from_this(), h = std::move(h)](error_code ec, std::size_t remaining) mutable {
      if (ec == boost::asio::error::operation_aborted || destroyed_)  // the producer was destroyed meanwhile
        return complete(std::move(h), error_code(boost::asio::error::operation_aborted), std::move(close_report_));
      if (remaining == 0) return complete(std::move(h), error_code{}, std::move(close_report_));
      // Whatever librdkafka still holds comes back as _PURGE_* delivery reports.
      rd_kafka_purge(rk_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT | RD_KAFKA_PURGE_F_NON_BLOCKING);
      flush(std::chrono::seconds(5), [this, self, h = std::move(h)](error_code ec2, std::size_t left) mutable {
        auto report = std::move(close_report_);
        if (ec2 == boost::asio::error::operation_aborted || destroyed_)
          return complete(std::move(h), error_code(boost::asio::error::operation_aborted), std::move(report));
        const error_code result = report.clean() && left == 0 ? error_code{} : make_error_code(error::timed_out);
        complete(std::move(h), result, std::move(report));
      });
    });
  }

  void health_check(std::chrono::milliseconds timeout, health_handler h) {
    // A coordinator lookup and an OffsetFetch for a group nobody uses: a round trip through the
    // cluster's metadata with no side effects, and one that the embedded cluster implements too.
    const std::uint64_t id = next_request_++;
    health_requests_.emplace(id, health_request{std::move(h), clock::now()});
    admin_options_handle opt(rd_kafka_AdminOptions_new(rk_.get(), RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS));
    std::array<char, 256> err{};
    rd_kafka_AdminOptions_set_request_timeout(opt.get(), static_cast<int>(timeout.count()), err.data(), err.size());
    rd_kafka_AdminOptions_set_opaque(opt.get(), reinterpret_cast<void*>(static_cast<std::uintptr_t>(id)));
    rd_kafka_ListConsumerGroupOffsets_t* request = rd_kafka_ListConsumerGroupOffsets_new("txova-health-check", nullptr);
    rd_kafka_ListConsumerGroupOffsets(rk_.get(), &request, 1, opt.get(), admin_queue_.get());
    rd_kafka_ListConsumerGroupOffsets_destroy(request);
    update_activity();
  }

  producer_stats stats() const {
    producer_stats s = stats_;
    s.in_flight = in_flight_;
    s.queue_depth = rk_ ? static_cast<std::size_t>(rd_kafka_outq_len(rk_.get())) : 0;
    s.waiting_for_room = room_waiters_.size();
    return s;
  }

  // Destruction without close: abort everything, purge librdkafka's queues.
  void destroy() noexcept {
    if (destroyed_) return;
    destroyed_ = true;
    closing_ = true;
    pump_->stop();
    if (rk_) rd_kafka_purge(rk_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT | RD_KAFKA_PURGE_F_NON_BLOCKING);
    for (auto& op : ops_) {
      op.timer.reset();
      complete_op(op, boost::asio::error::operation_aborted, "the producer was destroyed");
    }
    for (auto& w : flush_waiters_)
      if (w->handler) complete(std::move(w->handler), error_code(boost::asio::error::operation_aborted), ops_.size());
    flush_waiters_.clear();
    for (auto& [id, r] : health_requests_)
      complete(std::move(r.handler), error_code(boost::asio::error::operation_aborted), health_report{});
    health_requests_.clear();
    room_waiters_.clear();
    // rd_kafka_destroy joins librdkafka's threads; with the queues purged it returns promptly.
    // Messages it still reports are dropped with the queue: their ops are gone from view.
    admin_queue_.reset();
    main_queue_.reset();
    topics_.clear();  // topic handles lock through rk: release them before it is destroyed
    rk_.reset();
    ops_.clear();
  }

private:
  struct publish_op : publish_fields {
    publish_handler handler;
    int attempts = 0;
    timestamp first_failure{}, last_failure{};
    error_code original_ec;
    std::string original_error;
    bool sent_to_dlq = false;
    std::string dlq_value;
    std::vector<std::pair<std::string, std::string>> dlq_headers;
    bool in_librdkafka = false;  // a delivery report will come
    bool waiting_for_room = false;
    bool retry_pending = false;  // a backoff timer's handler will still run and look at the op
    std::unique_ptr<boost::asio::steady_timer> timer;  // retry backoff
    std::list<publish_op>::iterator self;
  };
  using op_ptr = publish_op*;

  struct flush_waiter {
    explicit flush_waiter(boost::asio::any_io_executor ex) : timer(std::move(ex)) {}
    flush_handler handler;
    boost::asio::steady_timer timer;
  };
  struct health_request {
    health_handler handler;
    clock::time_point started;
  };

  // Completes `h` with `args` on its associated executor (the producer's when it has none).
  //
  // Never run inline: a handler may resume a coroutine that publishes again, cancels other
  // publishes or destroys the producer, none of which may happen in the middle of our own
  // loops. Completions are queued and one posted function runs the queue, so a batch of
  // delivery reports costs one post, not one per publish; each handler is then dispatched to
  // its own executor.
  template <class Handler, class... Args>
  void complete(Handler h, Args... args) {
    auto slot = boost::asio::get_associated_cancellation_slot(h);
    if (slot.is_connected()) slot.clear();
    auto hex = boost::asio::get_associated_executor(h, ex_);
    ready_.emplace_back(boost::asio::bind_executor(
        hex, [h = std::move(h), ... args = std::move(args)]() mutable { std::move(h)(std::move(args)...); }));
    if (ready_posted_) return;
    auto self = weak_from_this().lock();
    if (!self) return;  // only in ~producer_core, after destroy() already completed everything
    ready_posted_ = true;
    boost::asio::post(ex_, [self = std::move(self)] { self->run_ready(); });
  }

  void run_ready() {
    auto batch = std::move(ready_);
    ready_.clear();
    ready_posted_ = false;
    for (auto& fn : batch) {
      auto ex = boost::asio::get_associated_executor(fn);
      boost::asio::dispatch(ex, std::move(fn));
    }
  }

  op_ptr make_op(publish_handler h) {
    ops_.emplace_back();
    publish_op& op = ops_.back();
    op.self = std::prev(ops_.end());
    op.handler.swap(h);
    ++in_flight_;
    return &op;
  }

  // Drops an op that was never sent, without completing its handler.
  void release(op_ptr op) {
    if (op->handler) {
      op->handler = nullptr;
      --in_flight_;
    }
    forget(op);
  }

  // Erases the op unless librdkafka still points at it (its delivery report will erase it) or a
  // retry timer's handler is still to run (it will).
  void forget(op_ptr op) {
    if (op->in_librdkafka || op->retry_pending) return;
    ops_.erase(op->self);
    update_activity();
  }

  // Fills the op from the envelope; returns a diagnostic when it must not be sent.
  // Fills `f` from the envelope; returns a diagnostic when it must not be sent.
  diagnostic prepare(publish_fields& f, const envelope& e, const publish_options& opt) {
    if (e.correlation_id.empty()) {  // a new chain: the event's own id (rare, so a copy is fine)
      envelope chained = e;
      chained.correlation_id = e.id;
      return prepare(f, chained, opt);
    }
    f.id = e.id;  // for the log line, should validation fail
    f.type = e.type;
    f.correlation_id = e.correlation_id;
    if (opt.topic) f.topic = *opt.topic;
    else {
      auto t = routes_.resolve(e.type);
      if (!t) return t.error();
      f.topic = std::move(*t);
    }
    if (opt.key) f.key = *opt.key;
    if (auto d = validate_for_publish(e, *cfg_.event_catalog, opt.key ? nullptr : &f.key)) return d;
    f.value = to_json(e);
    if (f.value.size() > cfg_.max_message_bytes)
      return make_diagnostic(error::too_large, "",
                             "envelope " + e.id + " of type \"" + e.type + "\" is " + std::to_string(f.value.size()) +
                                 " bytes, over max_message_bytes " + std::to_string(cfg_.max_message_bytes));
    f.version = e.version;
    f.source = e.source;
    f.time = e.time;
    return {};
  }

  void fail_now(op_ptr op, error_code ec, const std::string& message) {
    ++stats_.failed;
    log_failure(*op, "not published", message);
    complete_op(*op, ec, message);
    forget(op);
  }

  // Hands the op to librdkafka, or queues it behind others waiting for room.
  void submit(op_ptr op) {
    if (closing_) return fail_now(op, make_error_code(error::closed), "the producer is closed");
    connect_cancellation(op);
    if (!room_waiters_.empty()) return wait_for_room(op);
    send(op);
  }

  void send(op_ptr op) {
    const rd_kafka_resp_err_t err = produce(*op, op->sent_to_dlq);
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) return wait_for_room(op);
    if (err) {
      // Refused before sending (unknown partition, bad topic name, ...): a delivery failure.
      return delivery_failed(op, err, std::string(rd_kafka_err2str(err)) + " (topic \"" + current_topic(*op) + "\")");
    }
    op->in_librdkafka = true;
    ++op->attempts;
    update_activity();
  }

  rd_kafka_resp_err_t produce(publish_op& op, bool to_dlq) {
    rd_kafka_headers_t* h = rd_kafka_headers_new(op.raw ? op.raw_headers.size() + 1 : to_dlq ? 14 : 6);
    if (op.raw) {
      for (const auto& [k, v] : op.raw_headers) add_header(h, k, v);
    } else {
    add_header(h, "event-id", op.id);
    add_header(h, "event-type", op.type);
    add_header(h, "correlation-id", op.correlation_id);
    add_header(h, "schema-version", op.version);
    add_header(h, "source", op.source);
    header_scratch_.clear();  // reused: no allocation per message
    append_timestamp(header_scratch_, op.time);
    add_header(h, "timestamp", header_scratch_);
    }
    if (to_dlq)
      for (const auto& [k, v] : op.dlq_headers) add_header(h, k, v);
    const std::string& topic = to_dlq ? dlq_topic_name(op) : op.topic;
    const std::string& value = to_dlq ? op.dlq_value : op.value;
    // rd_kafka_produceva: the same call as producev without its GNU statement-expression macros.
    rd_kafka_topic_t* rkt = topic_handle(topic);
    if (!rkt) {
      rd_kafka_headers_destroy(h);
      return RD_KAFKA_RESP_ERR__INVALID_ARG;
    }
    std::array<rd_kafka_vu_t, 6> vu{};
    vu[0].vtype = RD_KAFKA_VTYPE_RKT;
    vu[0].u.rkt = rkt;
    vu[1].vtype = RD_KAFKA_VTYPE_KEY;
    vu[1].u.mem = {const_cast<char*>(op.key.data()), op.key.size()};
    vu[2].vtype = RD_KAFKA_VTYPE_VALUE;
    vu[2].u.mem = {const_cast<char*>(value.data()), value.size()};
    vu[3].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    vu[3].u.i = 0;  // neither copy nor free: the bytes stay ours until the delivery report
    vu[4].vtype = RD_KAFKA_VTYPE_HEADERS;
    vu[4].u.headers = h;
    vu[5].vtype = RD_KAFKA_VTYPE_OPAQUE;
    vu[5].u.ptr = &op;
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (rd_kafka_error_t* e = rd_kafka_produceva(rk_.get(), vu.data(), vu.size())) {
      err = rd_kafka_error_code(e);
      rd_kafka_error_destroy(e);
    }
    if (err) rd_kafka_headers_destroy(h);  // ownership passes to librdkafka only on success
    return err;
  }

  static void add_header(rd_kafka_headers_t* h, std::string_view name, std::string_view value) {
    rd_kafka_header_add(h, name.data(), static_cast<ssize_t>(name.size()), value.data(), static_cast<ssize_t>(value.size()));
  }

  rd_kafka_topic_t* topic_handle(const std::string& name) {
    auto it = topics_.find(name);
    if (it != topics_.end()) return it->second.get();
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk_.get(), name.c_str(), nullptr);
    if (!rkt) return nullptr;  // e.g. a name over librdkafka's length limit: not cached
    return topics_.emplace(name, topic_ptr(rkt)).first->second.get();
  }

  // ---- delivery reports ------------------------------------------------------------------------

  void on_event(rd_kafka_event_t* ev) {
    switch (rd_kafka_event_type(ev)) {
      case RD_KAFKA_EVENT_DR: {
        std::array<const rd_kafka_message_t*, 256> batch{};
        std::size_t n = 0;
        while ((n = rd_kafka_event_message_array(ev, batch.data(), batch.size())) > 0)
          for (std::size_t i = 0; i < n; ++i) on_delivery(*batch[i]);
        // librdkafka frees queue room when the report is destroyed, after this returns.
        if (!room_waiters_.empty())
          boost::asio::post(ex_, [weak = weak_from_this()] {
            if (auto self = weak.lock(); self && !self->destroyed_) {
              self->retry_room_waiters();
              self->update_activity();
            }
          });
        update_activity();
        break;
      }
      case RD_KAFKA_EVENT_ERROR: {
        const rd_kafka_resp_err_t err = rd_kafka_event_error(ev);
        const bool fatal = rd_kafka_event_error_is_fatal(ev);
        logger()->log(fatal ? spdlog::level::critical : spdlog::level::warn, "txova producer {}: {} ({})",
                      cfg_.client_id, rd_kafka_event_error_string(ev), rd_kafka_err2name(err));
        break;
      }
      case RD_KAFKA_EVENT_LOG: {
        const char* fac = nullptr;
        const char* str = nullptr;
        int level = 0;
        if (rd_kafka_event_log(ev, &fac, &str, &level) == 0)
          log_librdkafka(cfg_.client_id, level, fac, str);
        break;
      }
      case RD_KAFKA_EVENT_LISTCONSUMERGROUPOFFSETS_RESULT:
        on_health_result(ev);
        break;
      default:
        break;
    }
  }

  void on_delivery(const rd_kafka_message_t& m) {
    auto* op = static_cast<op_ptr>(m._private);
    if (!op) return;
    op->in_librdkafka = false;
    if (!m.err) {
      if (op->sent_to_dlq) return dead_lettered(op, true, {});
      ++stats_.sent;
      rd_kafka_timestamp_type_t tstype;
      const std::int64_t ts = rd_kafka_message_timestamp(&m, &tstype);
      complete_op(*op, error_code{},
                  delivery{op->topic, m.partition, m.offset, ts >= 0 ? from_epoch_ms(ts) : timestamp{}, op->attempts, {}, {}});
      return forget(op);
    }
    const std::string text = std::string(rd_kafka_err2str(m.err)) + " (topic \"" + current_topic(*op) + "\")";
    if (op->sent_to_dlq) return dead_lettered(op, false, text);
    delivery_failed(op, m.err, text);
  }

  // A send of the original event failed: retry, dead-letter, or report.
  void delivery_failed(op_ptr op, rd_kafka_resp_err_t err, const std::string& text) {
    const auto now = now_utc();
    if (op->first_failure == timestamp{}) op->first_failure = now;
    op->last_failure = now;
    op->original_ec = make_rdkafka_error(err);
    op->original_error = text;
    if (!op->handler) {  // cancelled while in flight: nobody waits, so no retries and no DLQ
      ++stats_.failed;
      log_failure(*op, "not delivered (its publish was cancelled)", text);
      note_undelivered_if_closing(*op, text);
      return forget(op);
    }
    const int retries_done = std::max(op->attempts - 1, 0);
    if (!closing_ && classify(op->original_ec) == failure_kind::transient && retries_done < cfg_.retries) {
      ++stats_.retried;
      const auto wait = backoff_.delay(retries_done + 1);
      logger()->warn("txova producer {}: {} {} (correlation {}) attempt {} failed: {}; retrying in {} ms",
                     cfg_.client_id, op->raw ? "record for topic" : "event", op->raw ? op->topic : op->id,
                     op->correlation_id.empty() ? "-" : op->correlation_id, op->attempts, text, wait.count());
      op->timer = std::make_unique<boost::asio::steady_timer>(ex_, wait);
      op->retry_pending = true;
      op->timer->async_wait([this, op, self = shared_from_this()](error_code ec) {
        if (destroyed_) return;  // destroy() cleared every op
        op->retry_pending = false;
        op->timer.reset();
        // Cancelled or dropped meanwhile (its handler completed): the op only waited for us.
        if (ec || !op->handler) return forget(op);
        if (closing_) return fail_final(op);
        send(op);
      });
      return;
    }
    fail_final(op);
  }

  void fail_final(op_ptr op) {
    // An invalid topic name makes "<name>.dlq" invalid too: report the original error instead.
    const bool topic_invalid = op->original_ec == make_rdkafka_error(RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION);
    if (cfg_.dead_letter && !op->raw && !closing_ && !topic_invalid && !op->topic.ends_with(topics::dlq_suffix)) {
      dead_letter d;
      d.original_topic = op->topic;
      d.original_key = op->key;
      d.original_value = op->value;
      d.error_message = op->original_error;
      d.attempt_count = op->attempts;
      d.first_failure = op->first_failure;
      d.last_failure = op->last_failure;
      op->dlq_value = to_json(d);
      op->dlq_headers = headers(d);
      op->sent_to_dlq = true;
      const rd_kafka_resp_err_t err = produce(*op, true);
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) return wait_for_room(op);
      if (!err) {
        op->in_librdkafka = true;
        return;
      }
      return dead_lettered(op, false, std::string(rd_kafka_err2str(err)) + " (topic \"" + dlq_topic_name(*op) + "\")");
    }
    ++stats_.failed;
    log_failure(*op, "not delivered", op->original_error);
    note_undelivered_if_closing(*op, op->original_error);
    complete_op(*op, op->original_ec, op->original_error);
    forget(op);
  }

  void dead_lettered(op_ptr op, bool ok, const std::string& dlq_error) {
    ++stats_.failed;
    error_code ec = op->original_ec;
    std::string message = op->original_error;
    if (ok) {
      ++stats_.dead_lettered;
      logger()->error("txova producer {}: event {} (correlation {}) not delivered after {} attempts: {}; written to {}",
                      cfg_.client_id, op->id, op->correlation_id, op->attempts, message, dlq_topic_name(*op));
    } else {
      ec = make_error_code(error::dead_letter_failed);
      message = "not delivered (" + op->original_error + ") and the dead-letter topic failed too: " + dlq_error;
      log_failure(*op, "not delivered", message);
      note_undelivered_if_closing(*op, message);
    }
    complete_op(*op, ec, delivery{op->topic, -1, -1, {}, op->attempts, ok ? dlq_topic_name(*op) : std::string{}, message});
    forget(op);
  }

  // ---- room in librdkafka's queue ----------------------------------------------------------------

  void wait_for_room(op_ptr op) {
    if (room_waiters_.empty() && rd_kafka_outq_len(rk_.get()) == 0) {
      // Full while empty: the message alone exceeds the queue's byte limit. No report will
      // ever make room, so waiting would wedge every later publish.
      const std::string why = "event of " + std::to_string((op->sent_to_dlq ? op->dlq_value : op->value).size()) +
                              " bytes does not fit librdkafka's queue even when it is empty (max_queued_kbytes " +
                              std::to_string(cfg_.max_queued_kbytes) + ")";
      if (op->sent_to_dlq) return dead_lettered(op, false, why);
      return fail_now(op, make_error_code(error::too_large), why);
    }
    op->waiting_for_room = true;
    room_waiters_.push_back(op);
    update_activity();
  }

  void retry_room_waiters() {
    while (!room_waiters_.empty()) {
      op_ptr op = room_waiters_.front();
      const rd_kafka_resp_err_t err = produce(*op, op->sent_to_dlq);
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) return;
      room_waiters_.pop_front();
      op->waiting_for_room = false;
      if (err && op->sent_to_dlq) {
        dead_lettered(op, false, std::string(rd_kafka_err2str(err)) + " (topic \"" + dlq_topic_name(*op) + "\")");
        continue;
      }
      if (err) {
        delivery_failed(op, err, std::string(rd_kafka_err2str(err)) + " (topic \"" + current_topic(*op) + "\")");
        continue;
      }
      op->in_librdkafka = true;
      if (!op->sent_to_dlq) ++op->attempts;
    }
  }

  // ---- cancellation ------------------------------------------------------------------------------

  void connect_cancellation(op_ptr op) {
    auto slot = boost::asio::get_associated_cancellation_slot(op->handler);
    if (!slot.is_connected()) return;
    slot.assign([this, op, weak = weak_from_this()](boost::asio::cancellation_type type) {
      if (!(type & (boost::asio::cancellation_type::terminal | boost::asio::cancellation_type::partial))) return;
      auto self = weak.lock();
      if (!self || !op->handler) return;
      cancel(op);
    });
  }

  // Stops waiting for `op`. Not yet sent: it never will be. Sent: it may still arrive.
  void cancel(op_ptr op) {
    const char* what = op->in_librdkafka ? "cancelled while in flight: the event may still be delivered"
                                         : "cancelled before it was sent";
    if (op->waiting_for_room) {
      room_waiters_.erase(std::find(room_waiters_.begin(), room_waiters_.end(), op));
      op->waiting_for_room = false;
    }
    if (op->timer) op->timer->cancel();  // its handler still runs, sees no handler and forgets the op
    complete_op(*op, boost::asio::error::operation_aborted, what);
    forget(op);
    update_activity();
  }

  void drop_unsent(error_code ec, const std::string& why) {
    std::vector<op_ptr> unsent;
    for (auto& op : ops_)
      if (op.handler && !op.in_librdkafka) unsent.push_back(&op);
    room_waiters_.clear();
    for (op_ptr op : unsent) {
      op->waiting_for_room = false;
      if (op->timer) op->timer->cancel();
      ++stats_.failed;
      close_report_.undelivered.push_back({op->id, op->topic, why});
      complete_op(*op, ec, why);
      forget(op);
    }
  }

  // ---- completion helpers --------------------------------------------------------------------

  void complete_op(publish_op& op, error_code ec, delivery d) {
    if (!op.handler) return;
    --in_flight_;
    complete(std::move(op.handler), ec, std::move(d));
  }
  void complete_op(publish_op& op, error_code ec, const std::string& message) {
    complete_op(op, ec, delivery{op.topic, -1, -1, {}, op.attempts, {}, message});
  }

  void note_undelivered_if_closing(const publish_op& op, const std::string& why) {
    if (closing_) close_report_.undelivered.push_back({op.id, op.topic, why});
  }

  void log_failure(const publish_op& op, std::string_view what, const std::string& why) {
    if (op.raw)
      return logger()->error("txova producer {}: record for topic {} (key \"{}\") {}: {}", cfg_.client_id, op.topic,
                             op.key, what, why);
    logger()->error("txova producer {}: event {} (type {}, correlation {}) {}: {}", cfg_.client_id,
                    op.id.empty() ? "?" : op.id, op.type.empty() ? "?" : op.type,
                    op.correlation_id.empty() ? "?" : op.correlation_id, what, why);
  }

  std::string dlq_topic_name(const publish_op& op) const { return dlq_topic(op.topic); }
  std::string current_topic(const publish_op& op) const { return op.sent_to_dlq ? dlq_topic_name(op) : op.topic; }

  void check_flush_waiters() {
    if (!ops_.empty() || flush_waiters_.empty()) return;
    auto waiters = std::move(flush_waiters_);
    flush_waiters_.clear();
    for (auto& w : waiters)
      if (w->handler) finish_flush(*w, error_code{});
  }

  void finish_flush(flush_waiter& w, error_code ec) {
    w.timer.cancel();
    complete(std::move(w.handler), ec, ec ? ops_.size() : std::size_t{0});
    std::erase_if(flush_waiters_, [](const auto& p) { return !p->handler; });
    update_activity();
  }

  void on_health_result(rd_kafka_event_t* ev) {
    const auto id = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(rd_kafka_event_opaque(ev)));
    auto it = health_requests_.find(id);
    if (it == health_requests_.end()) return;
    auto req = std::move(it->second);
    health_requests_.erase(it);
    health_report r;
    r.round_trip = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - req.started);
    error_code ec = make_rdkafka_error(rd_kafka_event_error(ev));
    if (ec) r.detail = rd_kafka_event_error_string(ev);
    else if (const auto* res = rd_kafka_event_ListConsumerGroupOffsets_result(ev)) {
      std::size_t n = 0;
      const rd_kafka_group_result_t** groups = rd_kafka_ListConsumerGroupOffsets_result_groups(res, &n);
      for (std::size_t i = 0; i < n && !ec; ++i)
        if (const rd_kafka_error_t* e = rd_kafka_group_result_error(groups[i])) {
          ec = make_rdkafka_error(rd_kafka_error_code(e));
          r.detail = rd_kafka_error_string(e);
        }
    }
    r.healthy = !ec;
    complete(std::move(req.handler), ec, std::move(r));
    update_activity();
  }

  // The pump keeps the io_context running only while something waits for librdkafka.
  void update_activity() {
    if (destroyed_) return;
    check_flush_waiters();
    const bool busy = in_flight_ > 0 || !ops_.empty() || !health_requests_.empty() || !flush_waiters_.empty();
    if (busy) pump_->activate();
    else pump_->deactivate();
  }

  struct topic_deleter {
    void operator()(rd_kafka_topic_t* t) const noexcept { rd_kafka_topic_destroy(t); }
  };
  using topic_ptr = std::unique_ptr<rd_kafka_topic_t, topic_deleter>;

  boost::asio::any_io_executor ex_;
  producer_config cfg_;
  topic_map routes_;  // config.routes, or the catalog's topics: built once, not per publish
  backoff_policy backoff_;
  kafka_handle rk_;
  queue_handle main_queue_;
  queue_handle admin_queue_;
  std::unordered_map<std::string, topic_ptr> topics_;
  std::string header_scratch_;
  std::vector<boost::asio::any_completion_handler<void()>> ready_;  // completions to run, in order
  bool ready_posted_ = false;
  std::unique_ptr<event_pump> pump_;
  std::list<publish_op> ops_;
  std::deque<op_ptr> room_waiters_;
  std::vector<std::shared_ptr<flush_waiter>> flush_waiters_;
  std::unordered_map<std::uint64_t, health_request> health_requests_;
  std::uint64_t next_request_ = 1;
  std::size_t in_flight_ = 0;  // publishes whose handler has not completed
  producer_stats stats_;
  close_report close_report_;
  bool closing_ = false;
  bool destroyed_ = false;
};

}  // namespace txova::kafka::detail

namespace txova::kafka::detail {

std::shared_ptr<producer_core> make_producer_core(boost::asio::any_io_executor ex, producer_config cfg) {
  return std::make_shared<producer_core>(std::move(ex), std::move(cfg));
}
prepared_ptr prepare_publish(producer_core& c, const envelope& e, const publish_options& o) { return c.prepare_one(e, o); }
prepared_ptr prepare_record(producer_core& c, producer_record r) { return c.prepare_record(std::move(r)); }
void start_publish(producer_core& c, prepared_ptr p, publish_handler h) { c.publish(std::move(p), std::move(h)); }
void start_publish_batch(producer_core& c, std::vector<envelope> es, batch_handler h) {
  c.publish_batch(std::move(es), std::move(h));
}
void start_flush(producer_core& c, std::chrono::milliseconds t, flush_handler h) { c.flush(t, std::move(h)); }
void start_close(producer_core& c, std::chrono::milliseconds t, close_handler h) { c.close(t, std::move(h)); }
void start_health_check(producer_core& c, std::chrono::milliseconds t, health_handler h) {
  c.health_check(t, std::move(h));
}
producer_stats stats(const producer_core& c) { return c.stats(); }
void destroy(producer_core& c) noexcept { c.destroy(); }

}  // namespace txova::kafka::detail
