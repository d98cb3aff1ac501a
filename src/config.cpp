#include <txova/kafka/config.hpp>

#include <txova/kafka/detail/rdkafka_handles.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <set>

extern char** environ;

namespace txova::kafka {
namespace {

diagnostic bad(std::string field, std::string message) {
  return make_diagnostic(error::invalid_config, std::move(field), std::move(message));
}

template <class Int>
boost::system::result<Int, diagnostic> parse_int(std::string_view var, std::string_view text, Int min, Int max) {
  Int v{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || v < min || v > max)
    return bad(std::string(var), std::string(var) + "=\"" + std::string(text) + "\" is not a whole number in [" +
                                     std::to_string(min) + ", " + std::to_string(max) + "]");
  return v;
}

boost::system::result<bool, diagnostic> parse_bool(std::string_view var, std::string_view text) {
  std::string t(text);
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
  if (t == "true" || t == "1" || t == "yes" || t == "on") return true;
  if (t == "false" || t == "0" || t == "no" || t == "off") return false;
  return boost::system::result<bool, diagnostic>(
      boost::system::in_place_error,
      bad(std::string(var), std::string(var) + "=\"" + std::string(text) + "\" is not true or false"));
}

std::string describe_properties(const std::map<std::string, std::string>& props) {
  std::string out;
  for (const auto& [k, v] : props) {
    if (!out.empty()) out += ", ";
    out += k + "=" + (detail::is_secret_property(k) ? std::string("[hidden]") : v);
  }
  return out;
}

// KAFKA_<PREFIX>X_Y -> "x.y" for every variable under the prefix not in `typed`.
void pass_through(const std::map<std::string, std::string>& env, std::string_view prefix,
                  const std::set<std::string, std::less<>>& typed, std::map<std::string, std::string>& out) {
  for (const auto& [var, value] : env) {
    if (!var.starts_with(prefix)) continue;
    std::string_view name = std::string_view(var).substr(prefix.size());
    if (name.empty() || typed.count(name)) continue;
    std::string property;
    for (char ch : name) property += ch == '_' ? '.' : static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    out[property] = value;
  }
}

// Reads typed settings from an environment map for from_env(); keeps the first malformed
// variable's diagnostic and ignores the rest, so callers read every field and check once.
class env_reader {
public:
  explicit env_reader(const std::map<std::string, std::string>& env) : env_(env) {}

  void text(std::string_view var, std::string& out) const {
    if (const std::string* v = find(var)) out = *v;
  }
  template <class Int>
  void integer(std::string_view var, Int& out, Int min, Int max) {
    const std::string* v = find(var);
    if (!v || error_) return;
    auto n = parse_int<Int>(var, *v, min, max);
    if (n) out = *n;
    else error_ = n.error();
  }
  void millis(std::string_view var, std::chrono::milliseconds& out) {
    long long n = out.count();
    integer<long long>(var, n, 0, 2147483647);
    out = std::chrono::milliseconds(n);
  }
  void flag(std::string_view var, bool& out) {
    const std::string* v = find(var);
    if (!v || error_) return;
    auto b = parse_bool(var, *v);
    if (b) out = *b;
    else error_ = b.error();
  }
  template <class Enum>
  void choice(std::string_view var, Enum& out, std::initializer_list<std::pair<std::string_view, Enum>> names) {
    const std::string* v = find(var);
    if (!v || error_) return;
    std::string allowed;
    for (const auto& [name, value] : names) {
      if (*v == name) {
        out = value;
        return;
      }
      allowed += (allowed.empty() ? "" : ", ") + std::string(name);
    }
    error_ = bad(std::string(var), std::string(var) + "=\"" + *v + "\" is not one of " + allowed);
  }
  /// The first malformed variable, or an empty diagnostic.
  const diagnostic& error() const noexcept { return error_; }

private:
  const std::string* find(std::string_view var) const {
    auto it = env_.find(std::string(var));
    return it == env_.end() ? nullptr : &it->second;
  }
  const std::map<std::string, std::string>& env_;
  diagnostic error_;
};

}  // namespace

diagnostic producer_config::validate() const {
  if (brokers.empty())
    return bad("brokers", "brokers is empty: set it, or KAFKA_BROKERS, to host:port[,host:port...]");
  if (client_id.empty()) return bad("client_id", "client_id is empty");
  if (acks != "all" && acks != "-1" && acks != "1" && acks != "0")
    return bad("acks", "acks \"" + acks + "\" is not one of all, 1, 0");
  if (idempotence && acks != "all" && acks != "-1")
    return bad("acks", "acks \"" + acks + "\" conflicts with idempotence, which needs acks=all");
  if (retries < 0 || retries > 100) return bad("retries", "retries " + std::to_string(retries) + " is not in [0, 100]");
  if (retry_backoff.count() < 1 || retry_backoff.count() > 300000)
    return bad("retry_backoff", "retry_backoff " + std::to_string(retry_backoff.count()) + " ms is not in [1, 300000]");
  if (retry_backoff_max < retry_backoff)
    return bad("retry_backoff_max", "retry_backoff_max " + std::to_string(retry_backoff_max.count()) +
                                        " ms is below retry_backoff " + std::to_string(retry_backoff.count()) + " ms");
  if (batch_bytes < 1 || batch_bytes > 2147483647u)
    return bad("batch_bytes", "batch_bytes " + std::to_string(batch_bytes) + " is not in [1, 2147483647]");
  if (linger.count() < 0 || linger.count() > 900000)
    return bad("linger", "linger " + std::to_string(linger.count()) + " ms is not in [0, 900000]");
  static const std::set<std::string, std::less<>> codecs{"none", "gzip", "snappy", "lz4", "zstd"};
  if (!codecs.count(compression))
    return bad("compression", "compression \"" + compression + "\" is not one of none, gzip, snappy, lz4, zstd");
  if (max_message_bytes < 1000 || max_message_bytes > 1000000000)
    return bad("max_message_bytes",
               "max_message_bytes " + std::to_string(max_message_bytes) + " is not in [1000, 1000000000]");
  if (delivery_timeout.count() < 1 || delivery_timeout.count() > 2147483647)
    return bad("delivery_timeout", "delivery_timeout " + std::to_string(delivery_timeout.count()) + " ms must be positive");
  if (max_queued_messages < 1 || max_queued_messages > 2147483647u)
    return bad("max_queued_messages", "max_queued_messages " + std::to_string(max_queued_messages) + " is not in [1, 2147483647]");
  if (max_queued_kbytes < 1 || max_queued_kbytes > 2147483647u)
    return bad("max_queued_kbytes", "max_queued_kbytes " + std::to_string(max_queued_kbytes) + " is not in [1, 2147483647]");
  if (max_message_bytes > max_queued_kbytes * 1024)
    return bad("max_queued_kbytes", "max_queued_kbytes " + std::to_string(max_queued_kbytes) +
                                         " cannot hold one message of max_message_bytes " + std::to_string(max_message_bytes));
  if (statistics_interval.count() < 0 || statistics_interval.count() > 86400000)
    return bad("statistics_interval", "statistics_interval " + std::to_string(statistics_interval.count()) + " ms is not in [0, 86400000]");
  if (max_detached_waiting > 100000000)
    return bad("max_detached_waiting", "max_detached_waiting " + std::to_string(max_detached_waiting) + " is over 100000000");
  if (!event_catalog) return bad("event_catalog", "event_catalog is null");
  if (auto d = dead_letter_topic.validate("dead_letter_topic")) return d;
  if (auto d = security.validate()) return d;
  // librdkafka judges the pass-through properties itself; make_conf names a refused one.
  if (auto conf = detail::make_conf(rdkafka_properties()); !conf) return conf.error();
  return {};
}

std::map<std::string, std::string> producer_config::rdkafka_properties() const {
  std::map<std::string, std::string> p{
      {"bootstrap.servers", brokers},
      {"client.id", client_id},
      {"acks", acks},
      {"enable.idempotence", idempotence ? "true" : "false"},
      {"retry.backoff.ms", std::to_string(retry_backoff.count())},
      {"batch.size", std::to_string(batch_bytes)},
      {"linger.ms", std::to_string(linger.count())},
      {"compression.codec", compression},
      {"message.max.bytes", std::to_string(max_message_bytes)},
      {"message.timeout.ms", std::to_string(delivery_timeout.count())},
      {"queue.buffering.max.messages", std::to_string(max_queued_messages)},
      {"queue.buffering.max.kbytes", std::to_string(max_queued_kbytes)},
      {"statistics.interval.ms", std::to_string(statistics_interval.count())},
      {"partitioner", partitioner == key_partitioner::sarama ? "fnv1a_random"
                      : partitioner == key_partitioner::java ? "murmur2_random"
                                                             : "consistent_random"},
  };
  security.add_rdkafka_properties(p);
  for (const auto& [k, v] : properties) p[k] = v;
  return p;
}

std::map<std::string, std::string> environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    if (const auto eq = entry.find('='); eq != std::string_view::npos)
      env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return env;
}

boost::system::result<producer_config, diagnostic> producer_config::from_env() { return from_env(environment()); }

boost::system::result<producer_config, diagnostic> producer_config::from_env(const std::map<std::string, std::string>& env) {
  return from_env(env, producer_config{});
}

boost::system::result<producer_config, diagnostic> producer_config::from_env(producer_config base) {
  return from_env(environment(), std::move(base));
}

boost::system::result<producer_config, diagnostic> producer_config::from_env(const std::map<std::string, std::string>& env,
                                                                             producer_config c) {
  env_reader r(env);
  r.text("KAFKA_BROKERS", c.brokers);
  r.text("KAFKA_CLIENT_ID", c.client_id);
  if (auto sec = security_config::from_env(env, c.security)) c.security = std::move(*sec);
  else return sec.error();
  r.text("KAFKA_PRODUCER_ACKS", c.acks);
  r.text("KAFKA_PRODUCER_COMPRESSION", c.compression);
  r.integer("KAFKA_PRODUCER_RETRIES", c.retries, 0, 100);
  r.flag("KAFKA_PRODUCER_IDEMPOTENCE", c.idempotence);
  r.flag("KAFKA_PRODUCER_RESEND_POSSIBLY_PERSISTED", c.resend_possibly_persisted);
  r.choice("KAFKA_PRODUCER_PARTITIONER", c.partitioner,
           {{"sarama", key_partitioner::sarama}, {"java", key_partitioner::java}, {"librdkafka", key_partitioner::librdkafka}});
  r.choice("KAFKA_PRODUCER_FORMAT", c.format,
           {{"envelope", wire_format::envelope}, {"cloudevents_binary", wire_format::cloudevents_binary},
            {"cloudevents_structured", wire_format::cloudevents_structured}});
  r.flag("KAFKA_PRODUCER_DEAD_LETTER", c.dead_letter);
  r.flag("KAFKA_LOG_MESSAGES", c.logging.each_message);
  if (auto it = env.find("KAFKA_PRODUCER_DLQ_TOPIC"); it != env.end() && !it->second.empty())
    c.dead_letter_topic = dead_letter_destination::fixed(it->second);
  r.millis("KAFKA_PRODUCER_RETRY_BACKOFF_MS", c.retry_backoff);
  r.millis("KAFKA_PRODUCER_LINGER_MS", c.linger);
  r.millis("KAFKA_PRODUCER_DELIVERY_TIMEOUT_MS", c.delivery_timeout);
  r.millis("KAFKA_PRODUCER_RETRY_BACKOFF_MAX_MS", c.retry_backoff_max);
  r.millis("KAFKA_PRODUCER_STATISTICS_INTERVAL_MS", c.statistics_interval);
  r.integer<std::size_t>("KAFKA_PRODUCER_BATCH_SIZE", c.batch_bytes, 1, 2147483647u);
  r.integer<std::size_t>("KAFKA_PRODUCER_MAX_MESSAGE_BYTES", c.max_message_bytes, 1000, 1000000000u);
  r.integer<std::size_t>("KAFKA_PRODUCER_MAX_DETACHED_WAITING", c.max_detached_waiting, 0, 100000000u);
  if (r.error()) return r.error();

  // Everything else under the prefix is a librdkafka property.
  static const std::set<std::string, std::less<>> typed{
      "ACKS", "COMPRESSION", "RETRIES", "IDEMPOTENCE", "RESEND_POSSIBLY_PERSISTED", "DEAD_LETTER", "RETRY_BACKOFF_MS",
      "LINGER_MS", "DELIVERY_TIMEOUT_MS", "BATCH_SIZE", "MAX_MESSAGE_BYTES", "RETRY_BACKOFF_MAX_MS", "PARTITIONER", "FORMAT",
      "STATISTICS_INTERVAL_MS", "MAX_DETACHED_WAITING", "DLQ_TOPIC"};
  pass_through(env, "KAFKA_PRODUCER_", typed, c.properties);
  return c;
}


std::string describe(const producer_config& config) { return describe_properties(config.rdkafka_properties()); }
std::string describe(const consumer_config& config) { return describe_properties(config.rdkafka_properties()); }

diagnostic consumer_config::validate() const {
  if (brokers.empty())
    return bad("brokers", "brokers is empty: set it, or KAFKA_BROKERS, to host:port[,host:port...]");
  if (group_id.empty() && service.empty())
    return bad("group_id", "group_id is empty and so is service, which would name it \"{service}-group\"");
  if (topics.empty() && manual_assignment.empty())
    return bad("topics", "topics is empty: name at least one topic to consume (or set manual_assignment)");
  for (const auto& t : topics)
    if (t.empty()) return bad("topics", "topics contains an empty name");
  for (const auto& p : manual_assignment)
    if (p.topic.empty() || p.partition < 0)
      return bad("manual_assignment", "manual_assignment has partition \"" + p.topic + "\"[" + std::to_string(p.partition) +
                                          "]: a topic name and a partition >= 0 are needed");
  if (auto_offset_reset != "earliest" && auto_offset_reset != "latest")
    return bad("auto_offset_reset", "auto_offset_reset \"" + auto_offset_reset + "\" is not earliest or latest");
  if (max_poll_records < 1 || max_poll_records > 1000000)
    return bad("max_poll_records", "max_poll_records " + std::to_string(max_poll_records) + " is not in [1, 1000000]");
  if (session_timeout.count() < 1000 || session_timeout.count() > 3600000)
    return bad("session_timeout", "session_timeout " + std::to_string(session_timeout.count()) + " ms is not in [1000, 3600000]");
  if (heartbeat_interval.count() < 1 || heartbeat_interval >= session_timeout)
    return bad("heartbeat_interval", "heartbeat_interval " + std::to_string(heartbeat_interval.count()) +
                                         " ms must be positive and below session_timeout " +
                                         std::to_string(session_timeout.count()) + " ms");
  if (max_retries < 0 || max_retries > 100)
    return bad("max_retries", "max_retries " + std::to_string(max_retries) + " is not in [0, 100]");
  if (retry_backoff.count() < 1 || retry_backoff_max < retry_backoff)
    return bad("retry_backoff", "retry_backoff " + std::to_string(retry_backoff.count()) +
                                    " ms must be positive and at most retry_backoff_max " +
                                    std::to_string(retry_backoff_max.count()) + " ms");
  if (handler_timeout.count() < 1)
    return bad("handler_timeout", "handler_timeout " + std::to_string(handler_timeout.count()) + " ms must be positive");
  if (commit_interval.count() < 1)
    return bad("commit_interval", "commit_interval " + std::to_string(commit_interval.count()) + " ms must be positive");
  if (max_message_bytes < 1000)
    return bad("max_message_bytes", "max_message_bytes " + std::to_string(max_message_bytes) + " is below 1000");
  if (shutdown_timeout.count() < 1)
    return bad("shutdown_timeout", "shutdown_timeout " + std::to_string(shutdown_timeout.count()) + " ms must be positive");
  if (statistics_interval.count() < 0)
    return bad("statistics_interval",
               "statistics_interval " + std::to_string(statistics_interval.count()) + " ms must not be negative");
  if (dead_letter_attempts < 1 || dead_letter_attempts > 1000)
    return bad("dead_letter_attempts", "dead_letter_attempts " + std::to_string(dead_letter_attempts) + " is not in [1, 1000]");
  if (max_prefetch_records < 1 || max_prefetch_records > 10000000)
    return bad("max_prefetch_records", "max_prefetch_records " + std::to_string(max_prefetch_records) + " is not in [1, 10000000]");
  if (held_prefetch_records < 1 || held_prefetch_records > 10000000)
    return bad("held_prefetch_records", "held_prefetch_records " + std::to_string(held_prefetch_records) + " is not in [1, 10000000]");
  if (max_prefetch_kbytes < 1 || max_prefetch_kbytes > 2097151)
    return bad("max_prefetch_kbytes", "max_prefetch_kbytes " + std::to_string(max_prefetch_kbytes) + " is not in [1, 2097151]");
  if (auto d = security.validate()) return d;
  if (auto d = dead_letter_topic.validate("dead_letter_topic")) return d;
  if (dead_letter_producer)
    if (auto d = dead_letter_producer->validate()) {
      d.field = "dead_letter_producer." + d.field;
      d.message = "dead_letter_producer: " + d.message;
      return d;
    }
  if (auto p = properties.find("enable.auto.commit"); p != properties.end() && p->second != "false")
    return bad("enable.auto.commit", "enable.auto.commit \"" + p->second +
                                         "\" is not allowed: offsets are committed only after a handler succeeded");
  if (auto conf = detail::make_conf(rdkafka_properties()); !conf) return conf.error();
  return {};
}

std::map<std::string, std::string> consumer_config::rdkafka_properties() const {
  const std::size_t fetch_bytes = std::max<std::size_t>(max_message_bytes + 4096, 1048576);
  std::map<std::string, std::string> p{
      {"bootstrap.servers", brokers},
      {"group.id", effective_group_id()},
      {"auto.offset.reset", auto_offset_reset},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"session.timeout.ms", std::to_string(session_timeout.count())},
      {"heartbeat.interval.ms", std::to_string(heartbeat_interval.count())},
      {"partition.assignment.strategy", cooperative ? "cooperative-sticky" : "range,roundrobin"},
      {"statistics.interval.ms", std::to_string(statistics_interval.count())},
      // Bounded prefetch per partition (a held partition keeps its own queue): see
      // docs/consumer.md for the memory bound these make.
      {"queued.min.messages", std::to_string(max_prefetch_records)},
      {"queued.max.messages.kbytes", std::to_string(max_prefetch_kbytes)},
      {"fetch.message.max.bytes", std::to_string(fetch_bytes)},
  };
  security.add_rdkafka_properties(p);
  for (const auto& [k, v] : properties) p[k] = v;
  p["enable.auto.commit"] = "false";  // never overridable: commits follow handled records only
  // A fetch response as large as one partition's fetch (librdkafka's default is 50 MB). A record
  // keeps its whole response alive, so a response carrying many partitions is pinned by the
  // slowest of them, and the memory bound's per-partition terms hold only when responses are
  // per partition (docs/consumer.md, Memory). librdkafka wants it >= message.max.bytes.
  if (!properties.contains("fetch.max.bytes")) {
    std::size_t at_least = fetch_bytes;
    if (auto it = p.find("message.max.bytes"); it != p.end()) {
      std::size_t v = 0;
      const auto r = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
      if (r.ec == std::errc()) at_least = std::max(at_least, v);
    }
    p["fetch.max.bytes"] = std::to_string(at_least);
  }
  return p;
}

boost::system::result<consumer_config, diagnostic> consumer_config::from_env() { return from_env(environment()); }
boost::system::result<consumer_config, diagnostic> consumer_config::from_env(consumer_config base) {
  return from_env(environment(), std::move(base));
}
boost::system::result<consumer_config, diagnostic> consumer_config::from_env(const std::map<std::string, std::string>& env) {
  return from_env(env, consumer_config{});
}

boost::system::result<consumer_config, diagnostic> consumer_config::from_env(const std::map<std::string, std::string>& env,
                                                                             consumer_config c) {
  env_reader r(env);
  r.text("KAFKA_BROKERS", c.brokers);
  r.text("KAFKA_GROUP_ID", c.group_id);
  if (auto sec = security_config::from_env(env, c.security)) c.security = std::move(*sec);
  else return sec.error();
  r.text("KAFKA_CONSUMER_AUTO_OFFSET_RESET", c.auto_offset_reset);
  r.integer<std::size_t>("KAFKA_CONSUMER_MAX_POLL_RECORDS", c.max_poll_records, 1, 1000000);
  r.integer("KAFKA_CONSUMER_MAX_RETRIES", c.max_retries, 0, 100);
  r.flag("KAFKA_CONSUMER_COOPERATIVE", c.cooperative);
  r.millis("KAFKA_CONSUMER_SESSION_TIMEOUT_MS", c.session_timeout);
  r.millis("KAFKA_CONSUMER_HEARTBEAT_INTERVAL_MS", c.heartbeat_interval);
  r.millis("KAFKA_CONSUMER_RETRY_BACKOFF_MS", c.retry_backoff);
  r.millis("KAFKA_CONSUMER_RETRY_BACKOFF_MAX_MS", c.retry_backoff_max);
  r.millis("KAFKA_CONSUMER_STATISTICS_INTERVAL_MS", c.statistics_interval);
  r.integer<std::size_t>("KAFKA_CONSUMER_MAX_MESSAGE_BYTES", c.max_message_bytes, 1000, 1000000000u);
  r.millis("KAFKA_CONSUMER_HANDLER_TIMEOUT_MS", c.handler_timeout);
  r.millis("KAFKA_CONSUMER_COMMIT_INTERVAL_MS", c.commit_interval);
  r.millis("KAFKA_CONSUMER_SHUTDOWN_TIMEOUT_MS", c.shutdown_timeout);
  r.flag("KAFKA_CONSUMER_DEAD_LETTER", c.dead_letter);
  r.flag("KAFKA_LOG_MESSAGES", c.logging.each_message);
  if (auto it = env.find("KAFKA_CONSUMER_DLQ_TOPIC"); it != env.end() && !it->second.empty())
    c.dead_letter_topic = dead_letter_destination::fixed(it->second);
  r.flag("KAFKA_CONSUMER_STRICT", c.strict);
  r.integer("KAFKA_CONSUMER_DEAD_LETTER_ATTEMPTS", c.dead_letter_attempts, 1, 1000);
  r.integer<std::size_t>("KAFKA_CONSUMER_MAX_PREFETCH_RECORDS", c.max_prefetch_records, 1, 10000000);
  r.integer<std::size_t>("KAFKA_CONSUMER_MAX_PREFETCH_KBYTES", c.max_prefetch_kbytes, 1, 2097151);
  r.integer<std::size_t>("KAFKA_CONSUMER_HELD_PREFETCH_RECORDS", c.held_prefetch_records, 1, 10000000);
  r.choice("KAFKA_CONSUMER_ON_DEAD_LETTER_FAILURE", c.on_dead_letter_failure,
           {{"stop", dead_letter_failure::stop}, {"keep_retrying", dead_letter_failure::keep_retrying}});
  r.choice("KAFKA_CONSUMER_TOMBSTONES", c.tombstones,
           {{"skip", tombstone_policy::skip}, {"dead_letter", tombstone_policy::dead_letter}});
  if (r.error()) return r.error();

  static const std::set<std::string, std::less<>> typed{
      "AUTO_OFFSET_RESET", "MAX_POLL_RECORDS", "SESSION_TIMEOUT_MS", "HEARTBEAT_INTERVAL_MS", "MAX_RETRIES",
      "RETRY_BACKOFF_MS", "HANDLER_TIMEOUT_MS", "COMMIT_INTERVAL_MS", "COOPERATIVE", "SHUTDOWN_TIMEOUT_MS",
      "DEAD_LETTER", "STRICT", "DEAD_LETTER_ATTEMPTS", "RETRY_BACKOFF_MAX_MS", "STATISTICS_INTERVAL_MS", "MAX_MESSAGE_BYTES", "MAX_PREFETCH_RECORDS", "MAX_PREFETCH_KBYTES", "HELD_PREFETCH_RECORDS", "ON_DEAD_LETTER_FAILURE", "TOMBSTONES", "DLQ_TOPIC"};
  pass_through(env, "KAFKA_CONSUMER_", typed, c.properties);
  return c;
}

}  // namespace txova::kafka
