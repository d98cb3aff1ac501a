// txova publish [--topic T] [--key K] [--raw] [FILE|-]: JSON lines of envelopes (validated, routed
// by the catalog) or, with --raw, records as `tail -J` prints them; every line is checked before
// anything is sent, then up to 1 000 are in flight and each acknowledgment is printed.
#include "cli.hpp"

#include <txova/kafka/envelope.hpp>
#include <txova/kafka/producer.hpp>
#include <txova/kafka/rdkafka_error.hpp>
#include <txova/kafka/topics.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <librdkafka/rdkafka.h>

#include <fstream>
#include <functional>
#include <iostream>

namespace txova::cli {
namespace {

struct publish_args {
  std::string topic, key, file = "-";
  bool raw = false, keep_partition = false;
};

struct line_item {
  std::size_t number;
  std::optional<kafka::envelope> envelope;
  kafka::producer_record record;
};

std::vector<line_item> read_input(const publish_args& a) {
  std::ifstream file;
  if (a.file != "-") {
    file.open(a.file);
    if (!file) throw cli_error("cannot open " + a.file);
  }
  std::istream& in = a.file == "-" ? std::cin : file;
  std::vector<line_item> items;
  std::vector<std::string> errors;
  std::string line;
  for (std::size_t n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    line_item item{n, std::nullopt, {}};
    try {
      if (a.raw) {
        auto d = parse_record_json(line, n);
        item.record.topic = a.topic.empty() ? d.topic : a.topic;
        item.record.key = a.key.empty() ? d.key : std::optional<std::string>(a.key);
        item.record.value = std::move(d.value);
        item.record.headers = std::move(d.headers);
        if (a.keep_partition && d.partition >= 0) item.record.partition = d.partition;
      } else {
        auto e = kafka::parse_envelope(line);
        if (!e) throw cli_error("line " + std::to_string(n) + ": invalid envelope: " + (e.error().field.empty() ? "" : e.error().field + ": ") + e.error().message);
        if (a.topic.empty() && !kafka::topic_for(e->type))
          throw cli_error("line " + std::to_string(n) + ": type \"" + e->type + "\" is not in the txova catalog: pass --topic (and --key)");
        item.envelope = std::move(*e);
      }
      items.push_back(std::move(item));
    } catch (const cli_error& x) {
      errors.push_back(x.what());
    }
  }
  if (!errors.empty()) {
    for (std::size_t i = 0; i < errors.size() && i < 20; ++i) std::cerr << "txova: " << errors[i] << "\n";
    throw cli_error(std::to_string(errors.size()) + " invalid line(s); nothing was published");
  }
  return items;
}

int run_publish(const publish_args& a, const global_options& g) {
  const auto items = read_input(a);
  auto cfg = producer_config_from(g);
  cfg.dead_letter = false;  // a failed line is reported here, not written to a DLQ
  const std::string brokers = cfg.brokers;
  boost::asio::io_context ioc;
  kafka::producer p(ioc.get_executor(), std::move(cfg));
  std::size_t next = 0, in_flight = 0, acked = 0, failed = 0;
  bool reported_unreachable = false;
  progress bar("published");
  std::function<void()> pump;
  const auto on_done = [&](const line_item& item, boost::system::error_code ec, const kafka::delivery& d) {
    --in_flight;
    if (ec) {
      ++failed;
      const std::string why = d.error_message.empty() ? ec.message() : d.error_message;
      if ((ec == kafka::make_rdkafka_error(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT) || ec == kafka::make_rdkafka_error(RD_KAFKA_RESP_ERR__TRANSPORT)) &&
          !reported_unreachable) {
        reported_unreachable = true;
        std::cerr << "txova: " << unreachable(g, brokers, why) << "\n";
      }
      std::cerr << "txova: line " << item.number << ": not delivered: " << why << "\n";
    } else {
      ++acked;
      std::cout << d.topic << "[" << d.partition << "]@" << d.offset;
      if (item.envelope) std::cout << " " << item.envelope->type << " " << item.envelope->id;
      std::cout << "\n";
    }
    if (items.size() > 1000) bar.tick(acked + failed, items.size());
    pump();
  };
  pump = [&] {
    while (in_flight < 1000 && next < items.size()) {
      const line_item& item = items[next++];
      ++in_flight;
      const auto h = [&on_done, &item](boost::system::error_code ec, kafka::delivery d) { on_done(item, ec, d); };
      if (item.envelope) {
        kafka::publish_options o;
        if (!a.topic.empty()) o.topic = a.topic;
        if (!a.key.empty()) o.key = a.key;
        p.async_publish(*item.envelope, o, h);
      } else {
        p.async_send(item.record, h);
      }
    }
  };
  pump();
  ioc.run();
  if (items.size() > 1000) bar.done(acked + failed);
  std::cout.flush();
  if (failed) throw cli_error(std::to_string(failed) + " of " + std::to_string(items.size()) + " not delivered");
  return 0;
}

}  // namespace

void add_publish(CLI::App& app, const global_options& g) {
  auto a = std::make_shared<publish_args>();
  auto* cmd = app.add_subcommand("publish", "publish JSON lines of envelopes (or, with --raw, records as tail -J prints them)");
  cmd->add_option("--topic", a->topic, "publish to this topic instead of the catalog's (needed for types outside it)");
  cmd->add_option("--key", a->key, "the record key instead of the catalog's partition key");
  cmd->add_flag("--raw", a->raw, "lines are records {topic,partition,offset,timestamp,key,headers,value} as tail -J prints");
  cmd->add_flag("--keep-partition", a->keep_partition, "with --raw: write each record to its line's partition");
  cmd->add_option("file", a->file, "a file of JSON lines, or - for stdin")->capture_default_str();
  cmd->callback([a, &g] { run_publish(*a, g); });
}

}  // namespace txova::cli
