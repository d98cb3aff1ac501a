#include <txova/kafka/admin.hpp>

#include <txova/kafka/detail/completion_queue.hpp>
#include <txova/kafka/detail/event_pump.hpp>
#include <txova/kafka/detail/rdkafka_handles.hpp>
#include <txova/kafka/rdkafka_error.hpp>

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/throw_exception.hpp>

#include <array>
#include <cstdint>
#include <unordered_map>

namespace txova::kafka {

std::vector<topic_spec> catalog_topics(const catalog& c, const topic_settings& settings) {
  std::vector<topic_spec> out;
  const auto add = [&](std::string name) {
    for (const auto& s : out)
      if (s.name == name) return;
    out.push_back(topic_spec{std::move(name), settings.partitions, settings.replication_factor, settings.retention, {}});
  };
  for (const auto& e : c.entries()) add(std::string(e.topic));
  for (const auto& e : c.entries()) add(dlq_topic(e.topic));
  return out;
}

namespace detail {
namespace {

using boost::system::error_code;

// A pending admin request: completes its handler from the result event, or aborts.
struct pending_op {
  virtual ~pending_op() = default;
  virtual void on_event(rd_kafka_event_t* ev) = 0;
  virtual void abort(error_code ec) = 0;
};

template <class OnEvent, class OnAbort>
struct pending_fn final : pending_op {
  OnEvent on_ev;
  OnAbort on_ab;
  pending_fn(OnEvent e, OnAbort a) : on_ev(std::move(e)), on_ab(std::move(a)) {}
  void on_event(rd_kafka_event_t* ev) override { on_ev(ev); }
  void abort(error_code ec) override { on_ab(ec); }
};

std::string topic_message(std::string_view topic, rd_kafka_resp_err_t err, const char* broker_text) {
  std::string msg = "topic \"" + std::string(topic) + "\": " + rd_kafka_err2str(err);
  if (broker_text && *broker_text && std::string_view(broker_text) != rd_kafka_err2str(err))
    msg += std::string(" (") + broker_text + ")";
  return msg;
}

std::vector<topic_outcome> outcomes(const rd_kafka_topic_result_t** results, std::size_t n) {
  std::vector<topic_outcome> out;
  for (std::size_t i = 0; i < n; ++i) {
    const char* name = rd_kafka_topic_result_name(results[i]);
    const rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i]);
    out.push_back({name ? name : "", make_rdkafka_error(err),
                   err ? topic_message(name ? name : "", err, rd_kafka_topic_result_error_string(results[i])) : ""});
  }
  return out;
}

}  // namespace

class admin_core : public std::enable_shared_from_this<admin_core> {
public:
  admin_core(boost::asio::any_io_executor ex, const admin_config& cfg) : ex_(std::move(ex)), cfg_(cfg) {
    auto props = cfg.properties;
    props["bootstrap.servers"] = cfg.brokers;
    if (!props.count("client.id")) props["client.id"] = "txova-admin";
    auto conf = make_conf(props);
    if (!conf) boost::throw_exception(diagnostic_error(conf.error()));
    auto client = make_client(RD_KAFKA_PRODUCER, std::move(*conf));
    if (!client) boost::throw_exception(diagnostic_error(client.error()));
    rk_ = std::move(*client);
    queue_.reset(rd_kafka_queue_new(rk_.get()));
    pump_ = std::make_unique<event_pump>(ex_, queue_.get(), [this](rd_kafka_event_t* ev) { dispatch_event(ev); });
  }

  ~admin_core() { shutdown(); }

  void shutdown() noexcept {
    if (closed_) return;
    closed_ = true;
    pump_->stop();
    auto ops = std::move(pending_);
    pending_.clear();
    for (auto& [id, op] : ops) op->abort(boost::asio::error::operation_aborted);
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
  template <class Handler, class OnEvent, class Result>
  void* track(Handler& handler, OnEvent on_event, Result aborted_result) {
    const std::uint64_t id = next_id_++;
    auto slot = boost::asio::get_associated_cancellation_slot(handler);
    auto shared_handler = std::make_shared<std::optional<Handler>>(std::move(handler));
    auto on_ab = [this, shared_handler, aborted_result](error_code ec) mutable {
      if (*shared_handler) complete(std::move(**shared_handler), ec, std::move(aborted_result));
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
        if (auto self = weak.lock()) self->abort(id, boost::asio::error::operation_aborted);
      });
    }
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
  void abort(std::uint64_t id, error_code ec) {
    auto it = pending_.find(id);
    if (it == pending_.end()) return;
    auto op = std::move(it->second);
    pending_.erase(it);
    if (pending_.empty()) pump_->set_busy(false);
    op->abort(ec);
  }

  void dispatch_event(rd_kafka_event_t* ev) {
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
  std::unique_ptr<event_pump> pump_;
  std::unordered_map<std::uint64_t, std::unique_ptr<pending_op>> pending_;
  std::uint64_t next_id_ = 1;
  bool closed_ = false;
};

std::shared_ptr<admin_core> make_admin_core(boost::asio::any_io_executor ex, const admin_config& cfg) {
  return std::make_shared<admin_core>(std::move(ex), cfg);
}

void shutdown(admin_core& core) noexcept { core.shutdown(); }

namespace {

error_code request_error(rd_kafka_event_t* ev) { return make_rdkafka_error(rd_kafka_event_error(ev)); }

// Creates the topics that can be expressed; `done` gets the request error and outcomes in spec order.
template <class Done>
void build_new_topics(const std::vector<topic_spec>& specs, Done done) {
  std::vector<topic_outcome> refused;
  std::vector<std::unique_ptr<rd_kafka_NewTopic_t, kafka_deleter>> topics;
  std::array<char, 512> err{};
  for (const auto& s : specs) {
    rd_kafka_NewTopic_t* nt =
        rd_kafka_NewTopic_new(s.name.c_str(), s.partitions, s.replication_factor, err.data(), err.size());
    if (!nt) {
      refused.push_back({s.name, make_error_code(error::invalid_config), "topic \"" + s.name + "\": " + err.data()});
      continue;
    }
    topics.emplace_back(nt);
    if (s.retention)
      rd_kafka_NewTopic_set_config(nt, "retention.ms", std::to_string(s.retention->count()).c_str());
    for (const auto& [k, v] : s.configs) rd_kafka_NewTopic_set_config(nt, k.c_str(), v.c_str());
  }
  done(std::move(topics), std::move(refused));
}

}  // namespace

void start_create(const std::shared_ptr<admin_core>& core, std::vector<topic_spec> specs, topics_handler handler) {
  if (core->closed()) return core->complete(std::move(handler), error_code(boost::asio::error::operation_aborted), std::vector<topic_outcome>{});
  build_new_topics(specs, [&](auto topics, std::vector<topic_outcome> refused) {
    if (topics.empty()) return core->complete(std::move(handler), error_code{}, std::move(refused));
    void* opaque = core->track(
        handler,
        [core = core.get(), refused](topics_handler h, rd_kafka_event_t* ev) mutable {
          std::vector<topic_outcome> out = std::move(refused);
          if (const auto* res = rd_kafka_event_CreateTopics_result(ev)) {
            std::size_t n = 0;
            const auto** r = rd_kafka_CreateTopics_result_topics(res, &n);
            auto more = outcomes(r, n);
            out.insert(out.end(), more.begin(), more.end());
          }
          core->complete(std::move(h), request_error(ev), std::move(out));
        },
        std::vector<topic_outcome>{});
    std::vector<rd_kafka_NewTopic_t*> raw;
    for (auto& t : topics) raw.push_back(t.get());
    auto opt = core->options(RD_KAFKA_ADMIN_OP_CREATETOPICS, opaque);
    rd_kafka_CreateTopics(core->rk(), raw.data(), raw.size(), opt.get(), core->queue());
  });
}

void start_delete(const std::shared_ptr<admin_core>& core, std::vector<std::string> names, topics_handler handler) {
  if (core->closed() || names.empty())
    return core->complete(std::move(handler), core->closed() ? error_code(boost::asio::error::operation_aborted) : error_code{},
                          std::vector<topic_outcome>{});
  void* opaque = core->track(
      handler,
      [core = core.get()](topics_handler h, rd_kafka_event_t* ev) {
        std::vector<topic_outcome> out;
        if (const auto* res = rd_kafka_event_DeleteTopics_result(ev)) {
          std::size_t n = 0;
          const auto** r = rd_kafka_DeleteTopics_result_topics(res, &n);
          out = outcomes(r, n);
        }
        core->complete(std::move(h), request_error(ev), std::move(out));
      },
      std::vector<topic_outcome>{});
  std::vector<std::unique_ptr<rd_kafka_DeleteTopic_t, kafka_deleter>> owned;
  std::vector<rd_kafka_DeleteTopic_t*> raw;
  for (const auto& n : names) raw.push_back(owned.emplace_back(rd_kafka_DeleteTopic_new(n.c_str())).get());
  auto opt = core->options(RD_KAFKA_ADMIN_OP_DELETETOPICS, opaque);
  rd_kafka_DeleteTopics(core->rk(), raw.data(), raw.size(), opt.get(), core->queue());
}

void start_describe(const std::shared_ptr<admin_core>& core, std::string name, describe_handler handler) {
  if (core->closed())
    return core->complete(std::move(handler), error_code(boost::asio::error::operation_aborted), topic_description{});
  void* opaque = core->track(
      handler,
      [core = core.get(), name](describe_handler h, rd_kafka_event_t* ev) {
        topic_description d{name, {}};
        error_code ec = request_error(ev);
        if (const auto* res = rd_kafka_event_DescribeConfigs_result(ev); res && !ec) {
          std::size_t n = 0;
          const auto** resources = rd_kafka_DescribeConfigs_result_resources(res, &n);
          for (std::size_t i = 0; i < n; ++i) {
            if (rd_kafka_resp_err_t err = rd_kafka_ConfigResource_error(resources[i])) {
              ec = make_rdkafka_error(err);
              break;
            }
            std::size_t cnt = 0;
            const auto** entries = rd_kafka_ConfigResource_configs(resources[i], &cnt);
            for (std::size_t j = 0; j < cnt; ++j) {
              const char* value = rd_kafka_ConfigEntry_value(entries[j]);
              if (!rd_kafka_ConfigEntry_is_sensitive(entries[j]))
                d.configs.emplace(rd_kafka_ConfigEntry_name(entries[j]), value ? value : "");
            }
          }
        }
        core->complete(std::move(h), ec, std::move(d));
      },
      topic_description{name, {}});
  std::unique_ptr<rd_kafka_ConfigResource_t, kafka_deleter> res(
      rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, name.c_str()));
  rd_kafka_ConfigResource_t* raw = res.get();
  auto opt = core->options(RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, opaque);
  rd_kafka_DescribeConfigs(core->rk(), &raw, 1, opt.get(), core->queue());
}

void start_ensure(const std::shared_ptr<admin_core>& core, std::vector<topic_spec> specs, ensure_handler handler) {
  std::map<std::string, int> wanted;
  for (const auto& s : specs) wanted[s.name] = s.partitions;
  // Bound to the core's executor: an unbound lambda would complete on the system executor.
  start_create(
      core, std::move(specs),
      boost::asio::bind_executor(core->executor(), [core, wanted, handler = std::move(handler)](
                                                       error_code ec, std::vector<topic_outcome> created) mutable {
        ensure_report report;
        if (ec) return core->complete(std::move(handler), ec, std::move(report));
        std::vector<std::string> probe;
        for (auto& o : created) {
          if (!o.ec) report.created.push_back(o.topic);
          else if (o.ec == make_rdkafka_error(RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)) {
            report.existing.push_back(o.topic);
            probe.push_back(o.topic);
          } else report.failed.push_back(std::move(o));
        }
        if (probe.empty() || core->closed())
          return core->complete(std::move(handler), error_code{}, std::move(report));

        // Validate-only CreatePartitions succeeds only when the count would grow, i.e. when the
        // topic has fewer partitions than wanted; INVALID_PARTITIONS means it has enough.
        auto shared_report = std::make_shared<ensure_report>(std::move(report));
        void* opaque = core->track(
            handler,
            [core = core.get(), shared_report, wanted](ensure_handler h, rd_kafka_event_t* ev) {
              ensure_report r = std::move(*shared_report);
              error_code req = request_error(ev);
              std::size_t n = 0;
              const rd_kafka_topic_result_t** res = nullptr;
              if (const auto* cp = rd_kafka_event_CreatePartitions_result(ev)) res = rd_kafka_CreatePartitions_result_topics(cp, &n);
              for (auto& o : outcomes(res, n)) {
                if (!o.ec) {
                  o.message = "topic \"" + o.topic + "\" exists with fewer than the " +
                              std::to_string(wanted.at(o.topic)) + " partitions asked for";
                  o.ec = make_error_code(error::invalid_config);
                  r.fewer_partitions.push_back(std::move(o));
                } else if (o.ec != make_rdkafka_error(RD_KAFKA_RESP_ERR_INVALID_PARTITIONS)) {
                  r.unverified.push_back(std::move(o));
                }
              }
              if (req)
                for (const auto& t : r.existing) r.unverified.push_back({t, req, "partition check failed: " + req.message()});
              core->complete(std::move(h), error_code{}, std::move(r));
            },
            ensure_report{});
        std::vector<std::unique_ptr<rd_kafka_NewPartitions_t, void (*)(rd_kafka_NewPartitions_t*)>> owned;
        std::vector<rd_kafka_NewPartitions_t*> raw;
        std::array<char, 256> err{};
        for (const auto& t : probe) {
          auto* np = rd_kafka_NewPartitions_new(t.c_str(), static_cast<std::size_t>(wanted.at(t)), err.data(), err.size());
          if (np) raw.push_back(owned.emplace_back(np, &rd_kafka_NewPartitions_destroy).get());
        }
        auto opt = core->options(RD_KAFKA_ADMIN_OP_CREATEPARTITIONS, opaque, true);
        rd_kafka_CreatePartitions(core->rk(), raw.data(), raw.size(), opt.get(), core->queue());
      }));
}

}  // namespace detail
}  // namespace txova::kafka
