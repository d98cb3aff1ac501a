// txova events: query the event log's store (txova-eventlog, docs/event-log.md) by correlation id
// (the chain as a causation tree), key, type and time; print a table or JSON lines; or replay
// what matched to a topic, with the DLQ replayer's replay headers.
#include "cli.hpp"

#include <txova/kafka/dlq.hpp>
#include <txova/kafka/event_log_sqlite.hpp>
#include <txova/kafka/producer.hpp>
#include <txova/kafka/timestamp.hpp>

#include <boost/asio/io_context.hpp>

#include <memory>

namespace txova::cli {

namespace {

namespace k = txova::kafka;

struct events_args {
  std::string db = "txova-eventlog.db";
  std::string correlation, key, type, since, until, topic, replay_to;
  std::size_t limit = 1000;
  bool json = false;
};

k::event_query query_of(const events_args& a) {
  k::event_query q;
  if (!a.correlation.empty()) q.correlation_id = a.correlation;
  if (!a.key.empty()) q.key = a.key;
  if (!a.type.empty()) q.type = a.type;
  if (!a.topic.empty()) q.topic = a.topic;
  const auto when = [](const std::string& text, const char* name) {
    auto t = k::parse_timestamp(text, name);
    if (!t) throw cli_error(std::string("--") + name + " \"" + text + "\": " + t.error().message, 2);
    return *t;
  };
  if (!a.since.empty()) q.since = when(a.since, "since");
  if (!a.until.empty()) q.until = when(a.until, "until");
  q.limit = a.limit;
  return q;
}

k::consumed_record record_of(const k::logged_event& e) {
  k::record_data d;
  d.topic = e.topic;
  d.partition = e.partition;
  d.offset = e.offset;
  d.key = e.key;
  d.value = e.value;
  d.headers = e.headers;
  d.broker_time = e.broker_time;
  return k::consumed_record(std::move(d));
}

void print_row(const k::logged_event& e, int depth) {
  const std::string indent(static_cast<std::size_t>(depth) * 2, ' ');
  if (e.event)
    std::printf("%-8lld %-30s %s%-28s %-20s %s[%d]@%lld id=%s correlation=%s\n", static_cast<long long>(e.sequence),
                k::format_timestamp(e.event->time).c_str(), indent.c_str(), e.event->type.c_str(), e.key.value_or("-").c_str(),
                e.topic.c_str(), e.partition, static_cast<long long>(e.offset), e.event->id.c_str(), e.event->correlation_id.c_str());
  else
    std::printf("%-8lld %-30s %s%-28s %-20s %s[%d]@%lld (%s)\n", static_cast<long long>(e.sequence), "-", indent.c_str(), "(not an envelope)",
                e.key.value_or("-").c_str(), e.topic.c_str(), e.partition, static_cast<long long>(e.offset), e.error.c_str());
}

void print_tree(const std::vector<k::causation_node>& nodes, int depth) {
  for (const auto& n : nodes) {
    print_row(n.event, depth);
    print_tree(n.children, depth + 1);
  }
}

void replay(const std::vector<k::logged_event>& events, const events_args& a, const global_options& g) {
  boost::asio::io_context ioc;
  k::producer p(ioc.get_executor(), producer_config_from(g));
  progress bar("replayed");
  std::uint64_t done = 0, failed = 0;
  for (const auto& e : events) {
    k::producer_record r{a.replay_to, e.key, e.value,
                         k::replay_headers_for(e.headers, k::replay_count_of(e.headers),
                                               "eventlog:" + e.topic + "/" + std::to_string(e.partition) + "/" + std::to_string(e.offset)),
                         std::nullopt};
    p.async_send(std::move(r), [&](boost::system::error_code ec, const k::delivery& d) {
      if (!ec) return bar.tick(++done, events.size());
      if (++failed == 1) std::fprintf(stderr, "txova: a replay failed: %s\n", d.error_message.empty() ? ec.message().c_str() : d.error_message.c_str());
    });
  }
  p.async_close(std::chrono::seconds(g.timeout_s + 30), [](boost::system::error_code, auto&&) {});
  ioc.run();
  bar.done(done);
  if (failed) throw cli_error(std::to_string(failed) + " of " + std::to_string(events.size()) + " events were not replayed to " + a.replay_to);
}

void run_events(const events_args& a, const global_options& g) {
  auto store = k::open_sqlite_event_log(a.db);
  if (!store) throw cli_error(store.error().message);
  auto found = (*store)->query(query_of(a));
  if (!found) throw cli_error(found.error().message);
  if (!a.replay_to.empty()) return replay(*found, a, g);
  if (a.json) {
    for (const auto& e : *found) {
      const std::string line = record_json(record_of(e));
      std::printf("{\"sequence\":%lld,%s\n", static_cast<long long>(e.sequence), line.c_str() + 1);
    }
    return;
  }
  std::printf("%-8s %-30s %-28s %-20s %s\n", "SEQ", "TIME", "TYPE", "KEY", "WHERE");
  if (!a.correlation.empty()) print_tree(k::causation_tree(std::move(*found)), 0);  // the chain, by causation
  else
    for (const auto& e : *found) print_row(e, 0);
}

}  // namespace

void add_events(CLI::App& app, const global_options& g) {
  auto a = std::make_shared<events_args>();
  auto* c = app.add_subcommand("events", "query the event log (txova-eventlog's store), or replay what matches to a topic");
  c->add_option("--db", a->db, "the event log's SQLite file")->capture_default_str();
  c->add_option("--correlation", a->correlation, "a chain: its events as a causation tree");
  c->add_option("--key", a->key, "records with this key");
  c->add_option("--type", a->type, "an event type or a pattern (ride.*)");
  c->add_option("--since", a->since, "envelope timestamps from this UTC time (RFC 3339)");
  c->add_option("--until", a->until, "envelope timestamps before this UTC time");
  c->add_option("--topic", a->topic, "records of this topic");
  c->add_option("--limit", a->limit, "at most this many events")->capture_default_str();
  c->add_flag("-J,--json", a->json, "JSON lines (the record, as tail -J prints it, with its sequence) instead of the table");
  c->add_option("--replay-to", a->replay_to, "republish what matches to this topic (original key, value and headers, plus replay headers)");
  c->callback([a, &g] { run_events(*a, g); });
}

}  // namespace txova::cli
