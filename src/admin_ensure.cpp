// ensure_topics (create what is missing, check what exists) and the admin configuration.
#include "admin_core.hpp"

#include <boost/asio/bind_executor.hpp>

namespace txova::kafka {
namespace detail {

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
            [wanted](error_code ec, const std::string& why) {
              ensure_report r;
              if (!why.empty())
                for (const auto& [t, n] : wanted) r.failed.push_back({t, ec, "topic \"" + t + "\": " + why});
              return r;
            });
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

std::map<std::string, std::string> admin_config::rdkafka_properties() const {
  std::map<std::string, std::string> p{{"bootstrap.servers", brokers}, {"client.id", "txova-admin"}};
  security.add_rdkafka_properties(p);
  for (const auto& [k, v] : properties) p[k] = v;
  return p;
}

boost::system::result<admin_config, diagnostic> admin_config::from_env(const std::map<std::string, std::string>& env) {
  return from_env(env, admin_config{});
}

boost::system::result<admin_config, diagnostic> admin_config::from_env(const std::map<std::string, std::string>& env,
                                                                       admin_config c) {
  if (auto it = env.find("KAFKA_BROKERS"); it != env.end()) c.brokers = it->second;
  auto sec = security_config::from_env(env, c.security);
  if (!sec) return sec.error();
  c.security = std::move(*sec);
  return c;
}

}  // namespace txova::kafka
