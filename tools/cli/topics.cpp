// txova topics ensure [--replication-factor N] [--partitions N] [--retention-hours N]: the
// catalog's topics and their DLQs (KAFKA_CONSUMER_DLQ_TOPIC names one shared DLQ instead);
// txova topics list: every topic the cluster has, with its partition count.
#include "cli.hpp"

#include <txova/kafka/detail/rdkafka_handles.hpp>

#include <boost/asio/io_context.hpp>
#include <librdkafka/rdkafka.h>

#include <cstdio>

namespace txova::cli {
namespace {

struct ensure_args {
  int replication = kafka::topics::replication_factor;
  int partitions = kafka::topics::partitions;
  int retention_hours = static_cast<int>(kafka::topics::retention.count());
};

void run_ensure(const ensure_args& a, const global_options& g) {
  kafka::topic_settings s;
  s.replication_factor = a.replication;
  s.partitions = a.partitions;
  s.retention = std::chrono::hours(a.retention_hours);
  const auto consumer = consumer_config_from(g);
  s.dead_letters = consumer.dead_letter_topic;
  const auto admin_cfg = admin_config_from(g);
  boost::asio::io_context ioc;
  kafka::admin admin(ioc.get_executor(), admin_cfg);
  std::optional<std::pair<boost::system::error_code, kafka::ensure_report>> out;
  admin.async_ensure_topics(kafka::catalog_topics(kafka::txova_catalog(), s),
                            [&](boost::system::error_code ec, kafka::ensure_report r) { out.emplace(ec, std::move(r)); });
  ioc.run();
  if (!out) throw cli_error("ensure did not complete");
  const auto& [ec, r] = *out;
  for (const auto& t : r.created) std::printf("created   %s\n", t.c_str());
  for (const auto& t : r.existing) std::printf("exists    %s\n", t.c_str());
  for (const auto& t : r.unverified) std::printf("exists    %s (partitions not verified: %s)\n", t.topic.c_str(), t.message.c_str());
  for (const auto& t : r.fewer_partitions) std::printf("TOO FEW   %s: %s\n", t.topic.c_str(), t.message.c_str());
  for (const auto& t : r.failed) std::printf("FAILED    %s: %s\n", t.topic.c_str(), t.message.c_str());
  std::fflush(stdout);
  if (ec && r.failed.empty()) throw cli_error(unreachable(g, admin_cfg.brokers, ec.message()), 3);
  if (!r.ok()) throw cli_error(std::to_string(r.failed.size() + r.fewer_partitions.size()) + " topic(s) not as asked");
}

void run_list(const global_options& g) {
  auto cfg = consumer_config_from(g);
  cfg.topics = {"-"};
  auto props = cfg.rdkafka_properties();
  if (!g.verbose) props["log_level"] = "0";  // what matters is said once, below
  auto conf = kafka::detail::make_conf(props);
  if (!conf) throw cli_error("configuration: " + conf.error().message);
  auto client = kafka::detail::make_client(RD_KAFKA_CONSUMER, std::move(*conf));
  if (!client) throw cli_error(client.error().message);
  const rd_kafka_metadata_t* md = nullptr;
  if (auto err = rd_kafka_metadata(client->get(), 1, nullptr, &md, g.timeout_s * 1000))
    throw cli_error(unreachable(g, cfg.brokers, rd_kafka_err2str(err)), 3);
  std::vector<std::pair<std::string, int>> topics;
  for (int i = 0; i < md->topic_cnt; ++i)
    if (!std::string_view(md->topics[i].topic).starts_with("__")) topics.emplace_back(md->topics[i].topic, md->topics[i].partition_cnt);
  rd_kafka_metadata_destroy(md);
  std::sort(topics.begin(), topics.end());
  std::printf("%-48s %s\n", "TOPIC", "PARTITIONS");
  for (const auto& [t, n] : topics) std::printf("%-48s %d\n", t.c_str(), n);
}

}  // namespace

void add_topics(CLI::App& app, const global_options& g) {
  auto* topics = app.add_subcommand("topics", "the catalog's topics: ensure they exist, list the cluster's");
  topics->require_subcommand(1);
  auto a = std::make_shared<ensure_args>();
  auto* ensure = topics->add_subcommand("ensure", "create the catalog's topics and DLQs that are missing (production defaults)");
  ensure->add_option("--replication-factor", a->replication, "replicas per partition (1 for a dev cluster)")
      ->check(CLI::Range(1, 32))->capture_default_str();
  ensure->add_option("--partitions", a->partitions, "partitions per topic")->check(CLI::Range(1, 10000))->capture_default_str();
  ensure->add_option("--retention-hours", a->retention_hours, "retention.ms of each topic, in hours")
      ->check(CLI::Range(1, 1000000))->capture_default_str();
  ensure->callback([a, &g] { run_ensure(*a, g); });
  auto* list = topics->add_subcommand("list", "every topic of the cluster (internal ones aside), with its partitions");
  list->callback([&g] { run_list(g); });
}

}  // namespace txova::cli
