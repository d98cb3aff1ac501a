// The consumer's port to librdkafka: the client and its callbacks, the consumer queue drained on
// the executor, records made from librdkafka's messages without a copy, fetch errors sorted
// into record errors and partition errors, assignment, commits, holding a partition's queue.
//
// No exception crosses a librdkafka callback: each one catches and reports an internal error.
// Everything librdkafka hands over is read defensively (null topics, negative offsets).
#include <txova/kafka/config.hpp>
#include <txova/kafka/detail/consumer_port.hpp>
#include <txova/kafka/detail/event_pump.hpp>
#include <txova/kafka/detail/rdkafka_handles.hpp>
#include <txova/kafka/detail/security_failure.hpp>
#include <txova/kafka/log.hpp>
#include <txova/kafka/rdkafka_error.hpp>

#include <boost/asio/post.hpp>
#include <boost/throw_exception.hpp>
#include <spdlog/spdlog.h>

#include <cstring>
#include <map>

namespace txova::kafka::detail {
namespace {

using boost::system::error_code;

// ---- records over librdkafka's messages ----------------------------------------------------

rd_kafka_headers_t* headers_of(const void* m) {
  rd_kafka_headers_t* h = nullptr;
  if (rd_kafka_message_headers(static_cast<const rd_kafka_message_t*>(m), &h) || !h) return nullptr;
  return h;
}

const record_storage message_storage{
    [](void* m) noexcept { rd_kafka_message_destroy(static_cast<rd_kafka_message_t*>(m)); },
    [](const void* m, std::vector<std::pair<std::string, std::string>>& out) {
      rd_kafka_headers_t* h = headers_of(m);
      const char* name = nullptr;
      const void* value = nullptr;
      std::size_t size = 0;
      for (std::size_t i = 0; h && !rd_kafka_header_get_all(h, i, &name, &value, &size); ++i)
        out.emplace_back(name ? name : "", value ? std::string(static_cast<const char*>(value), size) : std::string());
    },
    [](const void* m, std::string_view wanted) -> std::optional<std::string_view> {
      rd_kafka_headers_t* h = headers_of(m);
      const char* name = nullptr;
      const void* value = nullptr;
      std::size_t size = 0;
      for (std::size_t i = 0; h && !rd_kafka_header_get_all(h, i, &name, &value, &size); ++i)
        if (name && wanted == name) return value ? std::string_view(static_cast<const char*>(value), size) : std::string_view();
      return std::nullopt;
    },
};

// Errors about one record, which librdkafka then skips (a bad CRC, a codec it cannot
// decompress, a format it does not know): they carry that record's offset and go on as poison
// records. Every other error with an offset is about the partition (authorization, a fetch that
// failed) and carries the next fetch offset, where a real record will be read once it clears.
bool is_record_error(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR__BAD_MSG:
    case RD_KAFKA_RESP_ERR__BAD_COMPRESSION:
    case RD_KAFKA_RESP_ERR__NOT_IMPLEMENTED:
    case RD_KAFKA_RESP_ERR__CRIT_SYS_RESOURCE:
      return true;
    default:
      return false;
  }
}

// Catches whatever our code throws inside a librdkafka callback and reports it instead.
template <class Port, class F>
void guarded(Port* self, const char* where, F&& f) noexcept {
  try {
    f();
  } catch (const std::exception& e) {
    self->internal_error(where, e.what());
  } catch (...) {
    self->internal_error(where, "an exception that is not a std::exception");
  }
}

std::vector<topic_partition> partitions_of(const rd_kafka_topic_partition_list_t* parts) {
  std::vector<topic_partition> out;
  for (int i = 0; parts && i < parts->cnt; ++i)
    if (parts->elems[i].topic) out.push_back({parts->elems[i].topic, parts->elems[i].partition});
  return out;
}

partition_list_handle list_of(const std::vector<topic_partition>& parts) {
  partition_list_handle l(rd_kafka_topic_partition_list_new(static_cast<int>(parts.size())));
  for (const auto& p : parts) rd_kafka_topic_partition_list_add(l.get(), p.topic.c_str(), p.partition);
  return l;
}

class rdkafka_consumer_port final : public consumer_port {
public:
  rdkafka_consumer_port(boost::asio::any_io_executor ex, const consumer_config& cfg)
      : group_(cfg.effective_group_id()), ex_(ex), last_poll_(std::chrono::steady_clock::now()) {
    for (const auto& p : cfg.manual_assignment) manual_.push_back({p.topic, p.partition});
    start_offset_ = cfg.start_offset;
    const auto props = cfg.rdkafka_properties();
    identity_ = client_identity::of(props);
    auto conf = make_conf(props);
    if (!conf) boost::throw_exception(diagnostic_error(conf.error()));
    rd_kafka_conf_set_opaque(conf->get(), this);
    rd_kafka_conf_set_rebalance_cb(conf->get(), &on_rebalance);
    rd_kafka_conf_set_offset_commit_cb(conf->get(), &on_commit);
    rd_kafka_conf_set_error_cb(conf->get(), &on_error);
    rd_kafka_conf_set_log_cb(conf->get(), &on_log);
    if (cfg.statistics_interval.count() > 0) rd_kafka_conf_set_stats_cb(conf->get(), &on_statistics);
    auto client = make_client(RD_KAFKA_CONSUMER, std::move(*conf));
    if (!client) boost::throw_exception(diagnostic_error(client.error()));
    // Shared with every fetched record: librdkafka must outlive its messages, and a record may
    // outlive the consumer (a handler's local, a records() reader's). Not closing here: close()
    // is the graceful path, destruction the abrupt one.
    rk_ = std::shared_ptr<rd_kafka_t>(client->release(), [](rd_kafka_t* rk) {
      rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    });
    rd_kafka_poll_set_consumer(rk_.get());  // one queue for records, rebalances and commit results
    queue_.reset(rd_kafka_queue_get_consumer(rk_.get()));
    pump_ = std::make_unique<event_pump>(
        std::move(ex), queue_.get(), [this](std::size_t max) { return drain(max); },
        cfg.wakeup == wakeup_mode::callback ? event_pump::mode::callback : event_pump::mode::fd, 512);
  }

  ~rdkafka_consumer_port() override {
    stop();
    held_.clear();
    pump_.reset();
    queue_.reset();
  }

  void start(consumer_events& sink) override { sink_ = &sink; }

  error_code subscribe(const std::vector<std::string>& topics) override {
    if (!manual_.empty()) {
      // Manual assignment: no group to join. The assignment arrives as an event, as the
      // group's would (never from inside this call); assign() then starts the fetchers.
      boost::asio::post(ex_, [this, alive = std::weak_ptr<char>(alive_)] {
        if (alive.lock() && sink_) sink_->on_assigned(manual_);
      });
      return {};
    }
    partition_list_handle l(rd_kafka_topic_partition_list_new(static_cast<int>(topics.size())));
    for (const auto& t : topics) rd_kafka_topic_partition_list_add(l.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
    return make_rdkafka_error(rd_kafka_subscribe(rk_.get(), l.get()));
  }

  error_code assign(const std::vector<topic_partition>& parts) override {
    auto l = list_of(parts);
    if (start_offset_) {
      // The caller's store decides; if it cannot answer, the consumer stops rather than guess.
      try {
        for (int i = 0; i < l->cnt; ++i)
          if (const auto at = start_offset_(l->elems[i].topic, l->elems[i].partition); at && *at >= 0) l->elems[i].offset = *at;
      } catch (const std::exception& e) {
        boost::asio::post(ex_, [this, alive = std::weak_ptr<char>(alive_), what = std::string(e.what())] {
          if (alive.lock() && sink_) sink_->on_internal_error("consumer_config::start_offset", what);
        });
        return make_error_code(error::internal);
      }
    }
    error_code ec;
    if (cooperative() && manual_.empty()) {
      if (rd_kafka_error_t* e = rd_kafka_incremental_assign(rk_.get(), l.get())) {
        ec = make_rdkafka_error(rd_kafka_error_code(e));
        rd_kafka_error_destroy(e);
      }
    } else {
      ec = make_rdkafka_error(rd_kafka_assign(rk_.get(), l.get()));
    }
    // A partition held under an earlier assignment keeps librdkafka's "forwarded by the
    // application" flag, and fetch start then no longer forwards it: forward it ourselves.
    for (const auto& p : parts) {
      if (auto it = held_.find({p.topic, p.partition}); it != held_.end()) {
        if (it->second.paused) pause(it->first, false);
        held_.erase(it);
      }
      queue_handle q(rd_kafka_queue_get_partition(rk_.get(), p.topic.c_str(), p.partition));
      if (q) rd_kafka_queue_forward(q.get(), queue_.get());
    }
    return ec;
  }

  error_code unassign(const std::vector<topic_partition>& parts) override {
    if (!cooperative() || !manual_.empty()) return make_rdkafka_error(rd_kafka_assign(rk_.get(), nullptr));
    auto l = list_of(parts);
    error_code ec;
    if (rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk_.get(), l.get())) {
      ec = make_rdkafka_error(rd_kafka_error_code(e));
      rd_kafka_error_destroy(e);
    }
    return ec;
  }

  error_code commit(const std::vector<partition_offset>& offsets) override {
    partition_list_handle l(rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
    for (const auto& o : offsets) rd_kafka_topic_partition_list_add(l.get(), o.topic.c_str(), o.partition)->offset = o.offset;
    return make_rdkafka_error(rd_kafka_commit(rk_.get(), l.get(), 1));
  }

  // Holding cuts the partition's queue in librdkafka off from the consumer queue: its fetched
  // records wait there, and librdkafka stops fetching the partition once that queue holds
  // queued.min.messages or queued.max.messages.kbytes. Releasing forwards it again, held records
  // first, so the order is kept. rd_kafka_pause_partitions would throw the prefetched records
  // away and fetch them again (docs/consumer.md).
  //
  // A partition held for long would still fetch up to queued.min.messages and
  // queued.max.messages.kbytes into its own queue: trim_held stops that by pausing it, which
  // drops what it fetched (librdkafka bumps the partition's version); on release it is resumed
  // and fetches again from the offset after the last record the consumer took.
  void hold(std::string_view topic, std::int32_t partition, bool held) override {
    const std::pair<std::string, std::int32_t> key{std::string(topic), partition};
    auto it = held_.find(key);
    if (!held) {
      if (it == held_.end()) return;
      if (it->second.paused) pause(key, false);
      rd_kafka_queue_forward(it->second.queue.get(), queue_.get());
      held_.erase(it);
      return;
    }
    if (it != held_.end()) return;
    queue_handle q(rd_kafka_queue_get_partition(rk_.get(), key.first.c_str(), partition));
    if (!q) return;
    rd_kafka_queue_forward(q.get(), nullptr);
    held_.emplace(key, held_queue{std::move(q), false});
  }

  bool trim_held(std::string_view topic, std::int32_t partition, std::size_t max_records) override {
    const std::pair<std::string, std::int32_t> key{std::string(topic), partition};
    auto it = held_.find(key);
    if (it == held_.end() || it->second.paused || rd_kafka_queue_length(it->second.queue.get()) <= max_records) return false;
    pause(key, true);
    it->second.paused = true;
    return true;
  }

  std::optional<std::pair<std::int64_t, std::int64_t>> watermarks(std::string_view topic,
                                                                  std::int32_t partition) const override {
    std::int64_t lo = -1, hi = -1;
    const std::string name(topic);
    if (rd_kafka_get_watermark_offsets(rk_.get(), name.c_str(), partition, &lo, &hi)) return std::nullopt;
    return std::pair{lo, hi};
  }

  error_code close() override {
    error_code ec;
    if (rd_kafka_error_t* e = rd_kafka_consumer_close_queue(rk_.get(), queue_.get())) {
      ec = make_rdkafka_error(rd_kafka_error_code(e));
      rd_kafka_error_destroy(e);
    }
    return ec;
  }
  bool closed() const override { return rd_kafka_consumer_closed(rk_.get()) != 0; }
  std::chrono::steady_clock::time_point last_poll() const override { return last_poll_; }
  void set_busy(bool busy) override { pump_->set_busy(busy); }
  void poke() override { pump_->poke(); }

  void stop() noexcept override {
    if (pump_) pump_->stop();
    sink_ = nullptr;
  }

  void internal_error(const char* where, const char* what) noexcept {
    try {
      logger()->error("consumer {}: internal error in librdkafka's {} callback: {}", group_, where, what);
      if (sink_) sink_->on_internal_error(where, what);
    } catch (...) {
    }
  }

private:
  void pause(const std::pair<std::string, std::int32_t>& key, bool on) {
    partition_list_handle l(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(l.get(), key.first.c_str(), key.second);
    const rd_kafka_resp_err_t err = on ? rd_kafka_pause_partitions(rk_.get(), l.get()) : rd_kafka_resume_partitions(rk_.get(), l.get());
    if (err)
      logger()->warn("consumer {}: {} {}[{}] failed: {}", group_, on ? "pausing" : "resuming", key.first, key.second,
                     rd_kafka_err2str(err));
  }

  bool cooperative() const {
    const char* p = rd_kafka_rebalance_protocol(rk_.get());
    return p && std::strcmp(p, "COOPERATIVE") == 0;
  }

  std::size_t drain(std::size_t max) {
    last_poll_ = std::chrono::steady_clock::now();
    // One message per call: librdkafka 2.0.2's batch call can drop messages already in its array
    // when a rebalance's barrier arrives during the call, after counting them as consumed (fixed
    // in 2.1.0), and a dropped message would be committed past.
    std::size_t got = 0;
    for (; got < max && sink_; ++got) {
      rd_kafka_message_t* m = nullptr;
      if (rd_kafka_consume_batch_queue(queue_.get(), 0, &m, 1) <= 0 || !m) break;
      on_message(m);
    }
    return got;
  }

  void on_message(rd_kafka_message_t* m) {
    record_fields f;
    f.topic = m->rkt ? rd_kafka_topic_name(m->rkt) : "";
    f.partition = m->partition;
    f.offset = m->offset;
    if (m->err) {
      const rd_kafka_resp_err_t err = m->err;
      if (err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        const std::string topic(f.topic);
        rd_kafka_message_destroy(m);
        if (!topic.empty() && f.partition >= 0 && f.offset >= 0) sink_->on_partition_end(topic, f.partition, f.offset);
        return;
      }
      const std::string text = rd_kafka_message_errstr(m);
      if (!is_record_error(err) || m->offset < 0 || !m->rkt) {
        const std::string topic(f.topic);
        rd_kafka_message_destroy(m);
        if (!topic.empty() && f.partition >= 0) return sink_->on_partition_error(topic, f.partition, make_rdkafka_error(err), text);
        return sink_->on_client_error(make_rdkafka_error(err), rd_kafka_err2name(err) + std::string(": ") + text, false);
      }
      f.error = make_rdkafka_error(err);
      consumed_record r(m, message_storage, f, rk_);
      // The message owns the error text librdkafka made: views of it stay valid with the record.
      return sink_->on_record(std::move(r));
    }
    f.has_key = m->key != nullptr;
    if (m->key) f.key = {static_cast<const char*>(m->key), m->key_len};
    f.has_value = m->payload != nullptr;
    if (m->payload) f.value = {static_cast<const char*>(m->payload), m->len};
    rd_kafka_timestamp_type_t type{};
    f.timestamp_ms = rd_kafka_message_timestamp(m, &type);
    sink_->on_record(consumed_record(m, message_storage, f, rk_));
  }

  // ---- callbacks (served inside drain, on the executor; the log callback on librdkafka's threads)

  static void on_rebalance(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts, void* opaque) {
    auto* self = static_cast<rdkafka_consumer_port*>(opaque);
    guarded(self, "rebalance", [&] {
      if (!self->sink_) return;
      if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) return self->sink_->on_assigned(partitions_of(parts));
      const bool lost = err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS || rd_kafka_assignment_lost(self->rk_.get());
      if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
        logger()->error("consumer {}: rebalance error: {}", self->group_, rd_kafka_err2str(err));
      self->sink_->on_revoked(partitions_of(parts), lost);
    });
  }

  static void on_commit(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* offsets, void* opaque) {
    auto* self = static_cast<rdkafka_consumer_port*>(opaque);
    guarded(self, "offset commit", [&] {
      if (!self->sink_) return;
      std::vector<partition_offset> out;
      for (int i = 0; offsets && i < offsets->cnt; ++i) {
        const auto& e = offsets->elems[i];
        if (e.topic) out.push_back({e.topic, e.partition, e.offset, make_rdkafka_error(e.err)});
      }
      const error_code ec = err == RD_KAFKA_RESP_ERR__NO_OFFSET ? error_code{} : make_rdkafka_error(err);
      self->sink_->on_commit_result(ec, std::move(out));
    });
  }

  static void on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
    auto* self = static_cast<rdkafka_consumer_port*>(opaque);
    guarded(self, "error", [&] {
      if (!self->sink_) return;
      if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char buf[512] = {};
        const rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, buf, sizeof buf);
        return self->sink_->on_client_error(make_rdkafka_error(orig), std::string(rd_kafka_err2name(orig)) + ": " + buf, true);
      }
      const auto code = static_cast<rd_kafka_resp_err_t>(err);
      const std::string what = std::string(rd_kafka_err2name(code)) + ": " + (reason ? reason : "");
      if (auto failure = security_failure(code, what, self->identity_))
        return self->sink_->on_client_error(failure->code, failure->message, false);
      self->sink_->on_client_error(make_rdkafka_error(code), what, false);
    });
  }

  // On librdkafka's threads: touches only the (thread-safe) logger.
  static void on_log(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
    try {
      log_librdkafka(rd_kafka_name(rk), level, fac, buf);
    } catch (...) {
    }
  }

  static int on_statistics(rd_kafka_t*, char* json, std::size_t len, void* opaque) {
    auto* self = static_cast<rdkafka_consumer_port*>(opaque);
    guarded(self, "statistics", [&] {
      if (self->sink_ && json) self->sink_->on_statistics(std::string_view(json, len));
    });
    return 0;  // librdkafka frees the JSON
  }

  std::string group_;
  boost::asio::any_io_executor ex_;
  std::vector<topic_partition> manual_;          // consumer_config::manual_assignment
  std::function<std::optional<std::int64_t>(std::string_view, std::int32_t)> start_offset_;
  std::shared_ptr<char> alive_ = std::make_shared<char>();  // posted work checks the port is still here
  client_identity identity_;
  std::shared_ptr<rd_kafka_t> rk_;
  queue_handle queue_;
  std::unique_ptr<event_pump> pump_;
  struct held_queue {
    queue_handle queue;
    bool paused = false;  // trimmed: not fetching, its fetched records dropped
  };
  std::map<std::pair<std::string, std::int32_t>, held_queue> held_;  // partitions cut off from the consumer queue
  consumer_events* sink_ = nullptr;
  std::chrono::steady_clock::time_point last_poll_;
};

}  // namespace

std::unique_ptr<consumer_port> make_rdkafka_consumer_port(boost::asio::any_io_executor ex, const consumer_config& cfg) {
  return std::make_unique<rdkafka_consumer_port>(std::move(ex), cfg);
}

}  // namespace txova::kafka::detail
