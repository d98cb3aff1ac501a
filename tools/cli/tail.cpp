// txova tail TOPIC...: kcat-like reading with librdkafka's assign (no group, nothing committed
// unless -o stored names one): offsets beginning|end|stored|<n>|-<n>|@<unix-ms>, -e to exit at the
// end, -c to stop after a count, --type to keep envelopes of matching types, -J for JSON lines
// (what `publish --raw` reads back byte for byte), else a readable line per envelope. A tool, not
// the library: it blocks in librdkafka's poll on its one thread.
#include "cli.hpp"

#include <txova/kafka/envelope.hpp>
#include <txova/kafka/router.hpp>
#include <txova/kafka/detail/rdkafka_handles.hpp>

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <csignal>
#include <iostream>
#include <set>

namespace txova::cli {
namespace {

std::atomic<bool> interrupted{false};

struct tail_args {
  std::vector<std::string> topics;
  std::string offset = "end", group;
  bool exit_at_end = false, json = false;
  std::uint64_t count = 0;
  std::vector<std::string> types;
};

// -o: RD_KAFKA_OFFSET_* or an absolute offset; `at_ms` set for @<unix-ms>.
std::int64_t parse_offset(const std::string& o, std::optional<std::int64_t>& at_ms) {
  if (o == "beginning") return RD_KAFKA_OFFSET_BEGINNING;
  if (o == "end") return RD_KAFKA_OFFSET_END;
  if (o == "stored") return RD_KAFKA_OFFSET_STORED;
  const bool at = o.starts_with('@'), tail = o.starts_with('-');
  const std::string digits = at || tail ? o.substr(1) : o;
  std::size_t used = 0;
  long long n = -1;
  try {
    n = std::stoll(digits, &used);
  } catch (...) {
  }
  if (digits.empty() || used != digits.size() || n < 0)
    throw cli_error("-o \"" + o + "\" is not beginning, end, stored, <offset>, -<count> or @<unix-ms>", 2);
  if (at) {
    at_ms = n;
    return n;
  }
  return tail ? RD_KAFKA_OFFSET_TAIL(n) : n;
}

kafka::record_data copy_of(const rd_kafka_message_t* m) {
  kafka::record_data d;
  d.topic = rd_kafka_topic_name(m->rkt);
  d.partition = m->partition;
  d.offset = m->offset;
  if (m->key) d.key = std::string(static_cast<const char*>(m->key), m->key_len);
  if (m->payload) d.value = std::string(static_cast<const char*>(m->payload), m->len);
  rd_kafka_headers_t* hs = nullptr;
  if (rd_kafka_message_headers(m, &hs) == RD_KAFKA_RESP_ERR_NO_ERROR && hs) {
    const char* name;
    const void* value;
    size_t size;
    for (size_t i = 0; rd_kafka_header_get_all(hs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i)
      d.headers.emplace_back(name, value ? std::string(static_cast<const char*>(value), size) : std::string{});
  }
  rd_kafka_timestamp_type_t type{};
  const std::int64_t ms = rd_kafka_message_timestamp(m, &type);
  if (ms >= 0) d.broker_time = kafka::timestamp(std::chrono::milliseconds(ms));
  return d;
}


int run_tail(const tail_args& a, const global_options& g) {
  std::optional<std::int64_t> at_ms;
  const std::int64_t start = parse_offset(a.offset, at_ms);
  for (const auto& t : a.types)
    if (auto d = kafka::detail::check_route_pattern(t)) throw cli_error("--type: " + d.message, 2);
  if (start == RD_KAFKA_OFFSET_STORED && a.group.empty()) throw cli_error("-o stored needs --group: whose stored offsets?", 2);
  auto cfg = consumer_config_from(g);
  cfg.group_id = a.group.empty() ? "txova-tail-" + kafka::new_uuid().substr(0, 8) : a.group;
  cfg.topics = a.topics;
  auto props = cfg.rdkafka_properties();
  props["enable.partition.eof"] = "true";
  if (!g.verbose) props["log_level"] = "0";  // what matters is said once, below
  auto conf = kafka::detail::make_conf(props);
  if (!conf) throw cli_error("configuration: " + conf.error().message);
  auto client = kafka::detail::make_client(RD_KAFKA_CONSUMER, std::move(*conf));
  if (!client) throw cli_error(client.error().message);
  rd_kafka_t* rk = client->get();
  const int timeout_ms = g.timeout_s * 1000;

  kafka::detail::partition_list_handle parts(rd_kafka_topic_partition_list_new(16));
  for (const auto& topic : a.topics) {
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
    const rd_kafka_metadata_t* md = nullptr;
    const rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
    rd_kafka_topic_destroy(rkt);
    if (err) throw cli_error(unreachable(g, cfg.brokers, rd_kafka_err2str(err)), 3);
    const bool missing = md->topic_cnt < 1 || md->topics[0].err || md->topics[0].partition_cnt == 0;
    const std::string why = md->topic_cnt < 1 ? "no metadata" : rd_kafka_err2str(md->topics[0].err);
    if (!missing)
      for (int p = 0; p < md->topics[0].partition_cnt; ++p)
        rd_kafka_topic_partition_list_add(parts.get(), topic.c_str(), md->topics[0].partitions[p].id)->offset = start;
    rd_kafka_metadata_destroy(md);
    if (missing) throw cli_error("topic \"" + topic + "\" cannot be read: " + why);
  }
  if (at_ms) {
    if (auto err = rd_kafka_offsets_for_times(rk, parts.get(), timeout_ms))
      throw cli_error("-o @" + std::to_string(*at_ms) + ": offsets for that time: " + rd_kafka_err2str(err));
    for (int i = 0; i < parts->cnt; ++i)
      if (parts->elems[i].offset < 0) parts->elems[i].offset = RD_KAFKA_OFFSET_END;  // nothing that late: the end
  }
  if (auto err = rd_kafka_assign(rk, parts.get())) throw cli_error(std::string("assign: ") + rd_kafka_err2str(err));
  std::signal(SIGINT, [](int) { interrupted = true; });
  std::signal(SIGTERM, [](int) { interrupted = true; });

  std::set<std::pair<std::string, std::int32_t>> at_end;
  const std::size_t all = static_cast<std::size_t>(parts->cnt);
  std::uint64_t printed = 0;
  while (!interrupted && (!a.count || printed < a.count)) {
    kafka::detail::message_handle m(rd_kafka_consumer_poll(rk, 100));
    if (!m) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      at_end.emplace(m->rkt ? rd_kafka_topic_name(m->rkt) : "", m->partition);
      if (a.exit_at_end && at_end.size() >= all) break;
      continue;
    }
    if (m->err) {
      std::cerr << "txova: " << (m->rkt ? rd_kafka_topic_name(m->rkt) : "") << "[" << m->partition
                << "]: " << rd_kafka_message_errstr(m.get()) << "\n";
      if (m->err == RD_KAFKA_RESP_ERR__FATAL) return 1;
      continue;
    }
    if (m->rkt) at_end.erase({rd_kafka_topic_name(m->rkt), m->partition});
    const kafka::consumed_record r(copy_of(m.get()));
    auto e = kafka::parse_envelope(r.value());
    if (!a.types.empty()) {
      bool keep = false;
      for (const auto& t : a.types) keep = keep || (e && kafka::detail::route_rank(t, e->type) >= 0);
      if (!keep) continue;
    }
    if (a.json) {
      std::cout << record_json(r) << "\n";
    } else if (e) {
      std::cout << kafka::format_timestamp(e->time) << "  " << e->type << "  id=" << e->id << "  correlation=" << e->correlation_id
                << "  key=" << (r.has_key() ? std::string(r.key()) : "(none)") << "  " << r.topic() << "[" << r.partition() << "]@"
                << r.offset() << "\n";
    } else {
      std::cout << "(not an envelope: " << e.error().message << ")  key=" << (r.has_key() ? std::string(r.key()) : "(none)")
                << "  " << r.topic() << "[" << r.partition() << "]@" << r.offset() << "\n";
    }
    ++printed;
  }
  std::cout.flush();
  rd_kafka_consumer_close(rk);
  return 0;
}

}  // namespace

void add_tail(CLI::App& app, const global_options& g) {
  auto a = std::make_shared<tail_args>();
  auto* cmd = app.add_subcommand("tail", "print the records of topics, as envelopes or (-J) JSON lines");
  cmd->add_option("topics", a->topics, "the topics to read")->required();
  cmd->add_option("-o,--offset", a->offset, "beginning | end | stored | <offset> | -<count from the end> | @<unix-ms>")->capture_default_str();
  cmd->add_flag("-e,--exit", a->exit_at_end, "exit at the end of every partition");
  cmd->add_option("-c,--count", a->count, "exit after this many records");
  cmd->add_option("--type", a->types, "only envelopes of these types (patterns: ride.*, ride.completed, *)");
  cmd->add_flag("-J,--json", a->json, "JSON lines {topic,partition,offset,timestamp,key,headers,value}; binary as *_base64");
  cmd->add_option("--group", a->group, "the group whose stored offsets -o stored reads (nothing is committed)");
  cmd->callback([a, &g] { run_tail(*a, g); });
}

}  // namespace txova::cli
