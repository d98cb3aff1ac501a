#include "admin_core.hpp"

#include <boost/asio/bind_executor.hpp>

namespace txova::kafka {

std::vector<topic_spec> catalog_topics(const catalog& c, const topic_settings& settings) {
  std::vector<topic_spec> out;
  const auto add = [&](std::string name) {
    for (const auto& s : out)
      if (s.name == name) return;
    out.push_back(topic_spec{std::move(name), settings.partitions, settings.replication_factor, settings.retention, {}});
  };
  for (const auto& e : c.entries()) add(std::string(e.topic));
  for (const auto& e : c.entries()) add(settings.dead_letters.topic_for(e.topic));
  return out;
}

namespace detail {
namespace {

std::string topic_message(std::string_view topic, rd_kafka_resp_err_t err, const char* broker_text) {
  std::string msg = "topic \"" + std::string(topic) + "\": " + rd_kafka_err2str(err);
  if (broker_text && *broker_text && std::string_view(broker_text) != rd_kafka_err2str(err))
    msg += std::string(" (") + broker_text + ")";
  return msg;
}
// What an aborted create or delete reports: nothing when cancelled, each topic with the reason
// when the cluster could not be reached (a refused login).
auto aborted_topics(std::vector<std::string> names) {
  return [names = std::move(names)](error_code ec, const std::string& why) {
    std::vector<topic_outcome> out;
    if (!why.empty())
      for (const auto& n : names) out.push_back({n, ec, "topic \"" + n + "\": " + why});
    return out;
  };
}

}  // namespace

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


std::shared_ptr<admin_core> make_admin_core(boost::asio::any_io_executor ex, const admin_config& cfg) {
  return std::make_shared<admin_core>(std::move(ex), cfg);
}

void shutdown(admin_core& core) noexcept { core.shutdown(); }

namespace {

std::vector<std::string> names_of(const std::vector<topic_spec>& specs) {
  std::vector<std::string> out;
  for (const auto& s : specs) out.push_back(s.name);
  return out;
}

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
        aborted_topics(names_of(specs)));
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
      aborted_topics(names));
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
      [name](error_code, const std::string&) { return topic_description{name, {}}; });
  std::unique_ptr<rd_kafka_ConfigResource_t, kafka_deleter> res(
      rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, name.c_str()));
  rd_kafka_ConfigResource_t* raw = res.get();
  auto opt = core->options(RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, opaque);
  rd_kafka_DescribeConfigs(core->rk(), &raw, 1, opt.get(), core->queue());
}

}  // namespace detail
}  // namespace txova::kafka
