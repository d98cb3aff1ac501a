// txova dlq list DLQ [filters] [-J] [--summary] and txova dlq replay DLQ [filters] [--to T]
// [--dry-run] [--rate N] [--max N] [--group G] [--quarantine-after N]: the replayer (replay.hpp),
// listing through a dry run in a group of its own (nothing is committed anywhere).
#include "cli.hpp"

#include <txova/kafka/replay.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cstdio>
#include <iostream>

namespace txova::cli {
namespace {

struct filter_args {
  std::vector<std::string> types;
  std::string error, topic, key, after, before;
  std::optional<std::int32_t> partition;
  std::optional<std::int64_t> min_offset, max_offset;
};

void add_filters(CLI::App* cmd, filter_args& f) {
  cmd->add_option("--type", f.types, "event types (patterns: ride.*, ride.completed)");
  cmd->add_option("--error", f.error, "error messages containing this text");
  cmd->add_option("--original-topic", f.topic, "records that came from this topic");
  cmd->add_option("--partition", f.partition, "records from this original partition");
  cmd->add_option("--from-offset", f.min_offset, "original offsets from this one");
  cmd->add_option("--to-offset", f.max_offset, "original offsets up to this one");
  cmd->add_option("--key", f.key, "records with this key");
  cmd->add_option("--failed-after", f.after, "last failure at or after (RFC 3339 UTC, 2026-11-01T00:00:00Z)");
  cmd->add_option("--failed-before", f.before, "last failure at or before");
}

kafka::dead_letter_filter to_filter(const filter_args& a) {
  kafka::dead_letter_filter f;
  f.types = a.types;
  f.error_contains = a.error;
  f.original_topic = a.topic;
  f.partition = a.partition;
  f.min_offset = a.min_offset;
  f.max_offset = a.max_offset;
  if (!a.key.empty()) f.key = a.key;
  const auto time = [](const std::string& flag, const std::string& text) {
    auto t = kafka::parse_timestamp(text, flag);
    if (!t) throw cli_error(flag + ": " + t.error().message, 2);
    return *t;
  };
  if (!a.after.empty()) f.failed_after = time("--failed-after", a.after);
  if (!a.before.empty()) f.failed_before = time("--failed-before", a.before);
  return f;
}

std::string one_line(std::string s, std::size_t max) {
  for (char& c : s)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  if (s.size() > max) s = s.substr(0, max - 3) + "...";
  return s;
}

struct run_result {
  boost::system::error_code ec;
  kafka::replay_stats stats;
};

run_result run_replayer(const global_options& g, kafka::replay_options o, kafka::replay_observer observer) {
  boost::asio::io_context ioc;
  run_result out;
  o.assignment_timeout = std::chrono::seconds(g.timeout_s);
  const std::string dlq = o.dlq_topic;
  try {
    kafka::replayer r(ioc.get_executor(), consumer_config_from(g), std::move(o), std::move(observer));
    r.async_republish([&](boost::system::error_code ec, kafka::replay_stats s) { out = {ec, std::move(s)}; });
    ioc.run();
  } catch (const kafka::diagnostic_error& e) {
    throw cli_error(e.what(), 2);
  }
  if (out.ec == kafka::make_error_code(kafka::error::timed_out) && out.stats.seen == 0)
    throw cli_error("no partition of " + dlq + " was assigned within " + std::to_string(g.timeout_s) +
                        " s (--timeout): is the topic there (txova topics list) and are the brokers reachable?",
                    3);
  return out;
}

void print_summary(const kafka::replay_stats& s) {
  std::printf("seen %llu, matched %llu, replayed %llu, filtered %llu, quarantined %llu, omitted %llu, undecodable %llu, failed %llu\n",
              (unsigned long long)s.seen, (unsigned long long)s.matched, (unsigned long long)s.replayed,
              (unsigned long long)s.filtered, (unsigned long long)s.quarantined, (unsigned long long)s.omitted,
              (unsigned long long)s.undecodable, (unsigned long long)s.failed);
  if (!s.by_reason.empty()) std::printf("by error:\n");
  for (const auto& [why, n] : s.by_reason) std::printf("  %8llu  %s\n", (unsigned long long)n, one_line(why, 100).c_str());
  if (!s.by_type.empty()) std::printf("by type:\n");
  for (const auto& [type, n] : s.by_type) std::printf("  %8llu  %s\n", (unsigned long long)n, type.c_str());
}

struct list_args {
  std::string dlq;
  filter_args filter;
  bool json = false, summary = false;
};

void run_list(const list_args& a, const global_options& g) {
  kafka::replay_options o;
  o.dlq_topic = a.dlq;
  o.group_id = "txova-dlq-list-" + kafka::new_uuid().substr(0, 8);  // reads from the start, commits nothing
  o.filter = to_filter(a.filter);
  o.dry_run = true;
  o.quarantine_after = 1 << 30;  // a listing shows quarantined records like the others
  if (!a.json && !a.summary)
    std::printf("%-10s %-32s %-22s %-8s %-8s %-24s %-24s %s\n", "DLQ", "ORIGINAL", "TYPE", "ATTEMPTS", "REPLAYS", "FIRST FAILURE",
                "LAST FAILURE", "ERROR");
  const auto result = run_replayer(g, std::move(o), [&](const kafka::replay_event& e) {
    if (a.summary) return;
    if (!e.letter) {
      if (e.outcome == kafka::replay_outcome::undecodable)
        std::cerr << "txova: " << e.record.topic() << "[" << e.record.partition() << "]@" << e.record.offset() << ": " << e.detail << "\n";
      return;
    }
    if (e.outcome == kafka::replay_outcome::filtered) return;
    const auto& d = *e.letter;
    const auto& f = d.failure;
    const std::string where = std::to_string(d.dlq_partition) + "@" + std::to_string(d.dlq_offset);
    const std::string original = f.original_topic + "[" + std::to_string(f.original_partition) + "]@" + std::to_string(f.original_offset);
    if (a.json) {
      boost::json::object j{{"dlq_topic", d.dlq_topic}, {"dlq_partition", d.dlq_partition}, {"dlq_offset", d.dlq_offset},
                            {"format", std::string(kafka::to_string(d.format))}, {"original_topic", f.original_topic},
                            {"original_partition", f.original_partition}, {"original_offset", f.original_offset},
                            {"type", d.event_type ? boost::json::value(*d.event_type) : boost::json::value(nullptr)},
                            {"error", f.error_message}, {"attempts", f.attempt_count}, {"replay_count", d.replay_count},
                            {"first_failure", kafka::format_timestamp(f.first_failure)},
                            {"last_failure", kafka::format_timestamp(f.last_failure)}};
      if (f.original_key) j["key"] = *f.original_key;
      std::cout << boost::json::serialize(j) << "\n";
    } else {
      std::printf("%-10s %-32s %-22s %-8d %-8d %-24s %-24s %s\n", where.c_str(), original.c_str(), d.event_type.value_or("-").c_str(),
                  f.attempt_count, d.replay_count, kafka::format_timestamp(f.first_failure).c_str(),
                  kafka::format_timestamp(f.last_failure).c_str(), one_line(f.error_message, 80).c_str());
    }
  });
  std::fflush(stdout);
  if (a.summary) print_summary(result.stats);
  if (result.ec) throw cli_error("listing " + a.dlq + " stopped: " + result.ec.message());
}

struct replay_args {
  std::string dlq, to, group;
  filter_args filter;
  bool dry_run = false;
  double rate = 0;
  std::uint64_t max = 0;
  int quarantine_after = 3;
};

void run_replay(const replay_args& a, const global_options& g) {
  kafka::replay_options o;
  o.dlq_topic = a.dlq;
  o.group_id = a.group;
  o.filter = to_filter(a.filter);
  o.to_topic = a.to;
  o.dry_run = a.dry_run;
  o.max_rate = a.rate;
  o.max_count = a.max;
  o.quarantine_after = a.quarantine_after;
  progress bar(a.dry_run ? "would replay" : "replayed");
  std::uint64_t done = 0;
  const auto result = run_replayer(g, std::move(o), [&](const kafka::replay_event& e) {
    if (e.outcome == kafka::replay_outcome::replayed || e.outcome == kafka::replay_outcome::would_replay) bar.tick(++done);
    if (e.outcome == kafka::replay_outcome::would_replay && e.letter)
      std::printf("would replay %s[%d]@%lld -> %s (%s)\n", e.letter->failure.original_topic.c_str(), e.letter->failure.original_partition,
                  (long long)e.letter->failure.original_offset, a.to.empty() ? e.letter->failure.original_topic.c_str() : a.to.c_str(),
                  e.letter->event_type.value_or("-").c_str());
    if (e.outcome == kafka::replay_outcome::quarantined && e.letter)
      std::printf("quarantined %s[%d]@%lld: %s\n", e.letter->failure.original_topic.c_str(), e.letter->failure.original_partition,
                  (long long)e.letter->failure.original_offset, e.detail.c_str());
    if (e.outcome == kafka::replay_outcome::failed || e.outcome == kafka::replay_outcome::omitted || e.outcome == kafka::replay_outcome::undecodable)
      std::fprintf(stderr, "txova: %s %s[%d]@%lld: %s\n", std::string(kafka::to_string(e.outcome)).c_str(), std::string(e.record.topic()).c_str(),
                   e.record.partition(), (long long)e.record.offset(), e.detail.c_str());
  });
  bar.done(done);
  print_summary(result.stats);
  if (result.ec) throw cli_error("replay of " + a.dlq + " stopped: " + result.ec.message());
}

}  // namespace

void add_dlq(CLI::App& app, const global_options& g) {
  auto* dlq = app.add_subcommand("dlq", "list and replay dead-letter topics (ours, Spring Kafka's, Kafka Connect's)");
  dlq->require_subcommand(1);
  auto l = std::make_shared<list_args>();
  auto* list = dlq->add_subcommand("list", "a table of the dead letters in a DLQ, from its start");
  list->add_option("dlq", l->dlq, "the DLQ topic")->required();
  add_filters(list, l->filter);
  list->add_flag("-J,--json", l->json, "JSON lines instead of the table");
  list->add_flag("--summary", l->summary, "counts by error and type only");
  list->callback([l, &g] { run_list(*l, g); });

  auto r = std::make_shared<replay_args>();
  auto* replay = dlq->add_subcommand("replay", "put dead letters back on their original topics (or --to), committed in --group");
  replay->add_option("dlq", r->dlq, "the DLQ topic")->required();
  add_filters(replay, r->filter);
  replay->add_option("--to", r->to, "republish to this topic instead of each record's original one");
  replay->add_flag("--dry-run", r->dry_run, "show what would be replayed; publish and commit nothing");
  replay->add_option("--rate", r->rate, "at most this many replays per second")->check(CLI::NonNegativeNumber);
  replay->add_option("--max", r->max, "stop after this many replays");
  replay->add_option("--group", r->group, "the replay's consumer group (default txova-replay-<dlq>): where it resumes");
  replay->add_option("--quarantine-after", r->quarantine_after, "records replayed this many times are reported, not replayed")
      ->check(CLI::PositiveNumber)->capture_default_str();
  replay->callback([r, &g] { run_replay(*r, g); });
}

}  // namespace txova::cli
