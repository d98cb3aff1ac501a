// The producer's port to librdkafka: the client, its event queue on the executor, produce with
// headers, delivery reports and client errors translated for producer_core, the health probe.
// Everything librdkafka hands us is read defensively: a report without our opaque is ignored.
#include <txova/kafka/config.hpp>
#include <txova/kafka/detail/event_pump.hpp>
#include <txova/kafka/detail/producer_port.hpp>
#include <txova/kafka/detail/rdkafka_handles.hpp>
#include <txova/kafka/detail/security_failure.hpp>
#include <txova/kafka/detail/statistics.hpp>
#include <txova/kafka/log.hpp>
#include <txova/kafka/rdkafka_error.hpp>

#include <boost/asio/post.hpp>
#include <boost/throw_exception.hpp>

#include <algorithm>
#include <array>
#include <string>
#include <unordered_map>

namespace txova::kafka::detail {
namespace {

using boost::system::error_code;

class rdkafka_producer_port final : public producer_port {
public:
  rdkafka_producer_port(boost::asio::any_io_executor ex, const producer_config& cfg)
      : client_id_(cfg.client_id), ex_(ex) {
    auto props = cfg.rdkafka_properties();
    identity_ = client_identity::of(props);
    props["log.queue"] = "true";
    auto conf = make_conf(props);
    if (!conf) boost::throw_exception(diagnostic_error(conf.error()));
    rd_kafka_conf_set_events(conf->get(), RD_KAFKA_EVENT_DR | RD_KAFKA_EVENT_ERROR | RD_KAFKA_EVENT_LOG | RD_KAFKA_EVENT_STATS);
    auto client = make_client(RD_KAFKA_PRODUCER, std::move(*conf));
    if (!client) boost::throw_exception(diagnostic_error(client.error()));
    rk_ = std::move(*client);
    main_queue_.reset(rd_kafka_queue_get_main(rk_.get()));
    rd_kafka_set_log_queue(rk_.get(), nullptr);  // logs to the main queue, drained with the reports
    admin_queue_.reset(rd_kafka_queue_new(rk_.get()));
    rd_kafka_queue_forward(admin_queue_.get(), main_queue_.get());
    pump_ = std::make_unique<event_pump>(
        std::move(ex), main_queue_.get(), [this](rd_kafka_event_t* ev) { on_event(ev); },
        cfg.wakeup == wakeup_mode::callback ? event_pump::mode::callback : event_pump::mode::fd);
  }

  ~rdkafka_producer_port() override {
    stop();
    // rd_kafka_destroy joins librdkafka's threads; topic handles lock through rk, so they go first.
    admin_queue_.reset();
    main_queue_.reset();
    topics_.clear();
    rk_.reset();
  }

  void start(producer_events& sink) override { sink_ = &sink; }

  outcome produce(const outgoing_message& m, error_code& ec, std::string& text) override {
    rd_kafka_topic_t* rkt = topic_handle(m.topic);
    if (!rkt) {
      ec = make_rdkafka_error(RD_KAFKA_RESP_ERR__INVALID_ARG);
      text = "librdkafka refused the topic name";
      return outcome::refused;
    }
    rd_kafka_headers_t* h = rd_kafka_headers_new(m.headers.size());
    for (const auto& [k, v] : m.headers)
      rd_kafka_header_add(h, k.data(), static_cast<ssize_t>(k.size()), v.data(), static_cast<ssize_t>(v.size()));
    // rd_kafka_produceva: the same call as producev without its GNU statement-expression macros.
    std::array<rd_kafka_vu_t, 7> vu{};
    std::size_t n = 0;
    vu[n].vtype = RD_KAFKA_VTYPE_RKT;
    vu[n++].u.rkt = rkt;
    vu[n].vtype = RD_KAFKA_VTYPE_PARTITION;
    vu[n++].u.i32 = m.partition >= 0 ? m.partition : RD_KAFKA_PARTITION_UA;
    if (m.key) {
      vu[n].vtype = RD_KAFKA_VTYPE_KEY;
      vu[n++].u.mem = {const_cast<char*>(m.key->data()), m.key->size()};
    }
    if (m.value) {
      vu[n].vtype = RD_KAFKA_VTYPE_VALUE;
      vu[n++].u.mem = {const_cast<char*>(m.value->data()), m.value->size()};
    }
    vu[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    vu[n++].u.i = 0;  // neither copy nor free: the bytes stay ours until the delivery report
    vu[n].vtype = RD_KAFKA_VTYPE_HEADERS;
    vu[n++].u.headers = h;
    vu[n].vtype = RD_KAFKA_VTYPE_OPAQUE;
    vu[n++].u.ptr = m.opaque;
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (rd_kafka_error_t* e = rd_kafka_produceva(rk_.get(), vu.data(), n)) {
      err = rd_kafka_error_code(e);
      rd_kafka_error_destroy(e);
    }
    if (!err) return outcome::accepted;
    rd_kafka_headers_destroy(h);  // ownership passes to librdkafka only on success
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) return outcome::queue_full;
    ec = make_rdkafka_error(err);
    text = rd_kafka_err2str(err);
    return outcome::refused;
  }

  std::size_t queue_depth() const override { return static_cast<std::size_t>(rd_kafka_outq_len(rk_.get())); }

  void purge() override {
    if (rk_) rd_kafka_purge(rk_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT | RD_KAFKA_PURGE_F_NON_BLOCKING);
  }
  void purge_queued() override {
    if (rk_) rd_kafka_purge(rk_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_NON_BLOCKING);
  }

  void probe(std::uint64_t id, std::chrono::milliseconds timeout) override {
    // ListConsumerGroups, filtered to dead groups so the answer stays small: one request to every
    // known broker, no side effects. Not a group-coordinator admin request: in librdkafka 2.0.2
    // (through 2.15) one of those that times out while the coordinator is unreachable aborts the
    // process once the cluster returns (rd_kafka_enq_once_del_source_return: eonce->refcnt > 0;
    // docs/producer.md, Health).
    admin_options_handle opt(rd_kafka_AdminOptions_new(rk_.get(), RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS));
    std::array<char, 256> err{};
    rd_kafka_AdminOptions_set_request_timeout(opt.get(), static_cast<int>(std::clamp<std::int64_t>(timeout.count(), 1, 3600000)),
                                              err.data(), err.size());
    const rd_kafka_consumer_group_state_t dead = RD_KAFKA_CONSUMER_GROUP_STATE_DEAD;
    if (rd_kafka_error_t* e = rd_kafka_AdminOptions_set_match_consumer_group_states(opt.get(), &dead, 1))
      rd_kafka_error_destroy(e);
    rd_kafka_AdminOptions_set_opaque(opt.get(), reinterpret_cast<void*>(static_cast<std::uintptr_t>(id)));
    rd_kafka_ListConsumerGroups(rk_.get(), opt.get(), admin_queue_.get());
  }

  void set_busy(bool busy) override {
    if (pump_) pump_->set_busy(busy);
  }

  void stop() noexcept override {
    if (pump_) pump_->stop();
    sink_ = nullptr;
  }

private:
  void on_event(rd_kafka_event_t* ev) {
    if (!sink_) return;
    switch (rd_kafka_event_type(ev)) {
      case RD_KAFKA_EVENT_DR: {
        std::array<const rd_kafka_message_t*, 256> batch{};
        std::size_t n = 0;
        while ((n = rd_kafka_event_message_array(ev, batch.data(), batch.size())) > 0)
          for (std::size_t i = 0; i < n && sink_; ++i) on_report(*batch[i]);
        // librdkafka frees queue room when the report is destroyed, after this returns.
        if (sink_)
          boost::asio::post(ex_, [this, alive = std::weak_ptr<int>(alive_)] {
            if (alive.lock() && sink_) sink_->on_room();
          });
        break;
      }
      case RD_KAFKA_EVENT_ERROR: {
        const rd_kafka_resp_err_t err = rd_kafka_event_error(ev);
        const char* text = rd_kafka_event_error_string(ev);
        std::string what = std::string(rd_kafka_err2name(err)) + ": " + (text ? text : "");
        const bool fatal = rd_kafka_event_error_is_fatal(ev) != 0;
        if (auto failure = fatal ? std::nullopt : security_failure(err, what, identity_))
          sink_->on_client_error(failure->code, failure->message, false);
        else
          sink_->on_client_error(make_rdkafka_error(err), what, fatal);
        break;
      }
      case RD_KAFKA_EVENT_LOG: {
        const char* fac = nullptr;
        const char* str = nullptr;
        int level = 0;
        if (rd_kafka_event_log(ev, &fac, &str, &level) == 0) log_librdkafka(client_id_, level, fac, str);
        break;
      }
      case RD_KAFKA_EVENT_LISTCONSUMERGROUPS_RESULT:
        on_probe(ev);
        break;
      case RD_KAFKA_EVENT_STATS:
        on_statistics(ev);
        break;
      default:
        break;
    }
  }

  void on_report(const rd_kafka_message_t& m) {
    delivery_report r;
    r.opaque = m._private;
    if (!r.opaque) return;
    r.ec = make_rdkafka_error(m.err);
    if (m.err) r.error_text = rd_kafka_err2str(m.err);
    switch (rd_kafka_message_status(&m)) {
      case RD_KAFKA_MSG_STATUS_PERSISTED: r.status = persistence::persisted; break;
      case RD_KAFKA_MSG_STATUS_POSSIBLY_PERSISTED: r.status = persistence::possibly_persisted; break;
      default: r.status = persistence::not_persisted; break;
    }
    r.partition = m.partition;
    r.offset = m.offset;
    rd_kafka_timestamp_type_t tstype{};
    r.timestamp_ms = rd_kafka_message_timestamp(&m, &tstype);
    sink_->on_delivery(r);
  }

  // Reachable when a broker answered, whatever it said (no such topic, not authorized, a
  // request the broker does not support, as the embedded cluster answers): only a timeout or a
  // connection that could not be made (transport, TLS, authentication) means it is not.
  static bool unreachable(rd_kafka_resp_err_t err) {
    switch (err) {
      case RD_KAFKA_RESP_ERR__TIMED_OUT:
      case RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
      case RD_KAFKA_RESP_ERR__TRANSPORT:
      case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
      case RD_KAFKA_RESP_ERR__RESOLVE:
      case RD_KAFKA_RESP_ERR__SSL:
      case RD_KAFKA_RESP_ERR__AUTHENTICATION:
      case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
      case RD_KAFKA_RESP_ERR__FATAL:
      case RD_KAFKA_RESP_ERR__DESTROY:
        return true;
      default:
        return false;
    }
  }

  // Healthy when at least one broker answered, whatever it said (the embedded cluster answers
  // that it does not support the request): the per-broker errors are all of the unreachable
  // kind only when no broker could be asked.
  void on_probe(rd_kafka_event_t* ev) {
    const auto id = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(rd_kafka_event_opaque(ev)));
    if (const rd_kafka_resp_err_t err = rd_kafka_event_error(ev)) {
      const char* s = rd_kafka_event_error_string(ev);
      return sink_->on_probe_result(id, make_rdkafka_error(err), s ? s : rd_kafka_err2str(err));
    }
    const auto* res = rd_kafka_event_ListConsumerGroups_result(ev);
    std::size_t errors = 0, valid = 0;
    const rd_kafka_error_t** errs = res ? rd_kafka_ListConsumerGroups_result_errors(res, &errors) : nullptr;
    if (res) (void)rd_kafka_ListConsumerGroups_result_valid(res, &valid);
    std::size_t failed = 0;
    rd_kafka_resp_err_t first = RD_KAFKA_RESP_ERR_NO_ERROR;
    std::string detail;
    for (std::size_t i = 0; errs && i < errors; ++i) {
      if (!errs[i] || !unreachable(rd_kafka_error_code(errs[i]))) continue;
      ++failed;
      if (!first) first = rd_kafka_error_code(errs[i]);
      detail += (detail.empty() ? "" : "; ") + std::string(rd_kafka_error_string(errs[i]));
    }
    const bool answered = failed < errors || valid > 0 || errors == 0 || (brokers_known_ > 0 && failed < brokers_known_);
    if (answered) return sink_->on_probe_result(id, {}, {});
    sink_->on_probe_result(id, make_rdkafka_error(first), "no broker answered: " + detail);
  }

  void on_statistics(rd_kafka_event_t* ev) {
    const char* json = rd_kafka_event_stats(ev);
    if (json) brokers_known_ = static_cast<std::size_t>(parse_statistics(json).brokers_known);
  }

  rd_kafka_topic_t* topic_handle(std::string_view name) {
    auto it = topics_.find(name);
    if (it != topics_.end()) return it->second.get();
    const std::string owned(name);
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk_.get(), owned.c_str(), nullptr);
    if (!rkt) return nullptr;  // e.g. a name over librdkafka's length limit: not cached
    return topics_.emplace(owned, topic_ptr(rkt)).first->second.get();
  }

  struct topic_deleter {
    void operator()(rd_kafka_topic_t* t) const noexcept { rd_kafka_topic_destroy(t); }
  };
  using topic_ptr = std::unique_ptr<rd_kafka_topic_t, topic_deleter>;
  struct name_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };

  std::string client_id_;
  client_identity identity_;
  kafka_handle rk_;
  queue_handle main_queue_;
  queue_handle admin_queue_;
  std::unique_ptr<event_pump> pump_;
  std::unordered_map<std::string, topic_ptr, name_hash, std::equal_to<>> topics_;
  boost::asio::any_io_executor ex_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // posted work checks it: the port may be gone
  producer_events* sink_ = nullptr;
  std::size_t brokers_known_ = 0;  // from the last statistics
};

}  // namespace

std::unique_ptr<producer_port> make_rdkafka_producer_port(boost::asio::any_io_executor ex, const producer_config& cfg) {
  return std::make_unique<rdkafka_producer_port>(std::move(ex), cfg);
}

}  // namespace txova::kafka::detail
