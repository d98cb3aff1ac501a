#pragma once
// Client configuration: typed fields with the documented defaults, validate() naming the bad
// field, from_env(), and a pass-through map for any other librdkafka property (security, TLS).
// See docs/configuration.md.
#include <txova/kafka/catalog.hpp>
#include <txova/kafka/dead_letter_destination.hpp>
#include <txova/kafka/error.hpp>
#include <txova/kafka/log.hpp>
#include <txova/kafka/security.hpp>
#include <txova/kafka/topics.hpp>

#include <boost/system/result.hpp>

#include <chrono>
#include <functional>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace txova::kafka {

class tracer;  // tracing.hpp

/// What a producer or consumer logs (producer_config::logging, consumer_config::logging).
/// Failures are always logged, once each: a publish not delivered (event id, correlation id,
/// topic and reason) at `failed`, and librdkafka's own line about it at debug. `each_message`
/// adds the logging middleware (logging_middleware.hpp): a line for every publish acknowledged
/// and every handler attempt that succeeded, at `succeeded`.
struct logging_options {
  bool each_message = false;
  log_level succeeded = log_level::debug;
  log_level failed = log_level::error;
};

/// How librdkafka's event queue wakes the io_context (see docs/producer.md for the measurements).
enum class wakeup_mode {
  fd,        ///< librdkafka writes an eventfd; the io_context's reactor waits on it
  callback,  ///< librdkafka calls back from its thread; we post a drain to the executor
};

/// Which partition a key goes to: the same one the fleet's other clients pick (docs/interop.md).
enum class key_partitioner {
  sarama,      ///< FNV-1a, as IBM/sarama's default hash partitioner (librdkafka fnv1a_random): the txova fleet
  java,        ///< murmur2, as the Java client, franz-go and KafkaJS (librdkafka murmur2_random)
  librdkafka,  ///< CRC32, librdkafka's own default (consistent_random)
};

/// How an event travels: our envelope, or the CloudEvents Kafka protocol binding (cloudevents.hpp).
enum class wire_format {
  envelope,                ///< the txova envelope JSON (the default)
  cloudevents_binary,      ///< the payload as the value, the attributes in ce_* headers
  cloudevents_structured,  ///< application/cloudevents+json: the whole CloudEvent as the value
};

/// The producer's settings. Defaults are the production defaults of txova services.
struct producer_config {
  std::string brokers{};                           ///< bootstrap.servers; empty: see from_env()
  std::string client_id = "txova-producer";      ///< client.id, shows up in broker logs and metrics
  security_config security{};                    ///< TLS and SASL (KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*)
  std::string acks = "all";                      ///< "all", "1" or "0"
  bool idempotence = true;                       ///< enable.idempotence (needs acks=all)
  /// Our re-sends after librdkafka gave up (at delivery_timeout), then the DLQ. Off by default:
  /// librdkafka's own retries keep per-key order and never duplicate (idempotence), ours send a
  /// new message that later events of the same key may overtake (docs/producer.md).
  int retries = 0;
  /// Re-send (when retries > 0) also a message librdkafka says may already be stored
  /// (POSSIBLY_PERSISTED), accepting a possible duplicate; off: such a failure goes to the DLQ.
  bool resend_possibly_persisted = false;
  std::chrono::milliseconds retry_backoff{100};  ///< first backoff; doubles, with jitter, up to the max
  std::chrono::milliseconds retry_backoff_max{5000};
  std::size_t batch_bytes = 16 * 1024;           ///< batch.size
  std::chrono::milliseconds linger{5};           ///< linger.ms
  std::string compression = "snappy";            ///< none, gzip, snappy, lz4, zstd
  std::size_t max_message_bytes = 1024 * 1024;   ///< message.max.bytes; larger envelopes fail before sending
  std::chrono::milliseconds delivery_timeout{30000};  ///< message.timeout.ms: librdkafka's own retries end here
  std::size_t max_queued_messages = 100000;      ///< queue.buffering.max.messages; publishes wait for room beyond it
  std::size_t max_queued_kbytes = 256 * 1024;    ///< queue.buffering.max.kbytes
  std::size_t max_detached_waiting = 1000;       ///< publish_detached calls that may wait for room; more fail with queue_full
  std::chrono::milliseconds statistics_interval{10000};  ///< librdkafka statistics (brokers known to the health check); 0: off
  bool dead_letter = true;                       ///< route events that exhausted their retries to their DLQ
  dead_letter_destination dead_letter_topic{};   ///< the DLQ: "<topic>.dlq" unless set (KAFKA_PRODUCER_DLQ_TOPIC)
  key_partitioner partitioner = key_partitioner::sarama;  ///< librdkafka's partitioner; every writer of ours uses it
  wire_format format = wire_format::envelope;    ///< how envelopes are written (consumers read all three)
  wakeup_mode wakeup = wakeup_mode::fd;
  const catalog* event_catalog = &txova_catalog();  ///< partition keys; topics unless `routes` says otherwise
  std::optional<topic_map> routes{};               ///< event type -> topic; default: the catalog's topics
  std::map<std::string, std::string> properties{}; ///< any librdkafka property; wins over the fields above
  /// Set: a `send <topic>` span around every publish, traceparent from its context (tracing.hpp);
  /// publishes without a trace of their own take tracer->current().
  std::shared_ptr<kafka::tracer> tracer{};
  logging_options logging{};  ///< KAFKA_LOG_MESSAGES=true turns each_message on

  /// The first bad field, named with its value; converts to false when the config is valid.
  diagnostic validate() const;

  /// The librdkafka properties this config stands for (fields first, then `properties`).
  std::map<std::string, std::string> rdkafka_properties() const;

  /// Reads KAFKA_BROKERS, KAFKA_CLIENT_ID, the security variables (security_config::from_env)
  /// and KAFKA_PRODUCER_* over `base`:
  /// KAFKA_PRODUCER_ACKS, _IDEMPOTENCE (true/false), _RETRIES, _RESEND_POSSIBLY_PERSISTED, _RETRY_BACKOFF_MS, _BATCH_SIZE,
  /// _RETRY_BACKOFF_MAX_MS, _LINGER_MS, _COMPRESSION, _MAX_MESSAGE_BYTES, _DELIVERY_TIMEOUT_MS,
  /// _DEAD_LETTER (true/false), _STATISTICS_INTERVAL_MS, _MAX_DETACHED_WAITING;
  /// any other KAFKA_PRODUCER_X_Y becomes the librdkafka property "x.y"
  /// (KAFKA_PRODUCER_SASL_MECHANISMS -> sasl.mechanisms). A malformed value names the variable.
  static boost::system::result<producer_config, diagnostic> from_env();
  static boost::system::result<producer_config, diagnostic> from_env(producer_config base);
  /// The same over an explicit environment (variable name -> value), as tests use it.
  static boost::system::result<producer_config, diagnostic> from_env(const std::map<std::string, std::string>& env);
  static boost::system::result<producer_config, diagnostic> from_env(const std::map<std::string, std::string>& env,
                                                                     producer_config base);
};

/// What the consumer does when a dead letter cannot be written dead_letter_attempts times.
enum class dead_letter_failure {
  stop,           ///< stop the consumer with an error naming the record, the DLQ and the reason
  keep_retrying,  ///< keep trying (with backoff); the partition is reported stuck in stats and health
};

/// What the consumer does with a record whose value is null (a tombstone): never an envelope.
enum class tombstone_policy {
  skip,         ///< counted (stats().tombstones), logged, committed
  dead_letter,  ///< written to the DLQ ("tombstone":true) like other records that are not envelopes
};

/// One partition of a manual assignment (consumer_config::manual_assignment).
struct assigned_partition {
  std::string topic{};
  std::int32_t partition = 0;
};

/// The consumer's settings. Defaults are the production defaults of txova services.
struct consumer_config {
  std::string brokers{};                                   ///< bootstrap.servers
  std::string service{};                                   ///< names the default group: "{service}-group"
  std::string group_id{};                                  ///< empty: "{service}-group"
  std::vector<std::string> topics{};                       ///< what to subscribe to
  /// Non-empty: exactly these partitions are read, without joining the group (no rebalances, no
  /// group join wait; `topics` is not subscribed to). Offsets are still committed for group_id
  /// and resumed from. For tests (testing::fast_consumer_config) and tools reading fixed
  /// partitions; a broker refuses commits from outside a group that has live members.
  std::vector<assigned_partition> manual_assignment{};
  /// Set: asked, on the consumer's executor, where each newly assigned partition starts; a value
  /// is the next offset to read, nullopt the group's committed offset (else auto_offset_reset).
  /// For a consumer that keeps its offsets in its own store, written with what it stores (the
  /// event log), so a crash between that write and the group commit repeats nothing.
  std::function<std::optional<std::int64_t>(std::string_view topic, std::int32_t partition)> start_offset{};
  security_config security{};                              ///< TLS and SASL (KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*)
  std::string auto_offset_reset = "earliest";            ///< where a group without offsets starts
  std::size_t max_poll_records = 100;                    ///< per partition queued before it is held at librdkafka (docs/consumer.md)
  std::chrono::milliseconds session_timeout{30000};
  std::chrono::milliseconds heartbeat_interval{10000};
  int max_retries = 3;                                   ///< transient handler failures, then DLQ
  std::chrono::milliseconds retry_backoff{1000};         ///< first backoff; doubles with jitter
  std::chrono::milliseconds retry_backoff_max{30000};
  std::chrono::milliseconds handler_timeout{30000};      ///< a handler still running is cancelled
  std::chrono::milliseconds commit_interval{1000};       ///< how often finished offsets are committed
  bool commit_offsets = true;                            ///< false: finished offsets are tracked, never committed (dry runs, tools that only look)
  bool cooperative = false;                              ///< cooperative-sticky assignment
  std::size_t max_message_bytes = 1024 * 1024;           ///< larger records go to the DLQ
  std::chrono::milliseconds shutdown_timeout{30000};     ///< stop(): in-flight handlers get this long, then are cancelled
  std::chrono::milliseconds statistics_interval{5000};   ///< librdkafka statistics (lag); 0 turns them off
  bool dead_letter = true;                               ///< failed and poison records go to their DLQ
  dead_letter_destination dead_letter_topic{};           ///< the DLQ: "<topic>.dlq" unless set (KAFKA_CONSUMER_DLQ_TOPIC)
  int dead_letter_attempts = 3;                          ///< DLQ writes tried before on_dead_letter_failure applies
  dead_letter_failure on_dead_letter_failure = dead_letter_failure::stop;
  tombstone_policy tombstones = tombstone_policy::skip;
  /// Envelopes are read as a Go service reads them: an actor.type outside user, system, admin is
  /// accepted (logged once per value, counted in stats().unknown_actor_types). True: refused
  /// (dead-lettered), as publishing refuses it (docs/envelope.md, the rules table).
  bool strict = false;
  /// What librdkafka may prefetch (queued.min.messages and queued.max.messages.kbytes): for the
  /// consumer queue all flowing partitions share, and again for each partition held for
  /// backpressure. docs/consumer.md has the memory bound they make, and the throughput cost of
  /// setting them low (a queue over either stops fetching for up to a second).
  std::size_t max_prefetch_records = 100000;
  std::size_t max_prefetch_kbytes = 65536;
  /// Records a partition held for backpressure may keep prefetched in librdkafka; beyond that it
  /// stops fetching and drops them (they are fetched again when it is released), so a partition
  /// held for long costs this many records, not the prefetch limits above. A strand that works
  /// through more than this in 100 ms may keep what it works through in 100 ms.
  std::size_t held_prefetch_records = 1000;
  wakeup_mode wakeup = wakeup_mode::fd;
  std::optional<producer_config> dead_letter_producer{};   ///< default: brokers, security and connection properties of this config
  std::map<std::string, std::string> properties{};         ///< any librdkafka property; wins over the fields
  /// Set: a `process <topic>` span around every handler attempt, a child of the record's
  /// traceparent (tracing.hpp); message_context::trace() is then that span.
  std::shared_ptr<kafka::tracer> tracer{};
  logging_options logging{};  ///< KAFKA_LOG_MESSAGES=true turns each_message on

  /// The group id in effect.
  std::string effective_group_id() const { return group_id.empty() ? service + "-group" : group_id; }

  /// The first bad field, named with its value; converts to false when the config is valid.
  diagnostic validate() const;

  /// The librdkafka properties this config stands for (auto commit is always off: we commit).
  std::map<std::string, std::string> rdkafka_properties() const;

  /// Reads KAFKA_BROKERS, KAFKA_GROUP_ID, the security variables (security_config::from_env)
  /// and KAFKA_CONSUMER_*: _AUTO_OFFSET_RESET,
  /// _MAX_POLL_RECORDS, _SESSION_TIMEOUT_MS, _HEARTBEAT_INTERVAL_MS, _MAX_RETRIES,
  /// _RETRY_BACKOFF_MS, _RETRY_BACKOFF_MAX_MS, _HANDLER_TIMEOUT_MS, _COMMIT_INTERVAL_MS, _SHUTDOWN_TIMEOUT_MS,
  /// _STATISTICS_INTERVAL_MS, _MAX_MESSAGE_BYTES,
  /// _COOPERATIVE (true/false), _DEAD_LETTER (true/false), _DEAD_LETTER_ATTEMPTS,
  /// _ON_DEAD_LETTER_FAILURE (stop/keep_retrying), _TOMBSTONES (skip/dead_letter), _MAX_PREFETCH_RECORDS, _MAX_PREFETCH_KBYTES, _HELD_PREFETCH_RECORDS;
  /// any other KAFKA_CONSUMER_X_Y becomes the librdkafka property "x.y".
  static boost::system::result<consumer_config, diagnostic> from_env();
  static boost::system::result<consumer_config, diagnostic> from_env(consumer_config base);
  static boost::system::result<consumer_config, diagnostic> from_env(const std::map<std::string, std::string>& env);
  static boost::system::result<consumer_config, diagnostic> from_env(const std::map<std::string, std::string>& env,
                                                                     consumer_config base);
};

/// `config` printed for logs: every property, secrets replaced by "[hidden]".
std::string describe(const producer_config& config);
std::string describe(const consumer_config& config);

/// A producer config that reaches the cluster `c` reads: its brokers, security and connection
/// properties (security., sasl., ssl., socket., broker., client.dns); the rest defaults. What the
/// consumer's DLQ writer and the replayer publish with.
producer_config producer_config_for(const consumer_config& c);

/// The process environment as a map (what from_env() reads).
std::map<std::string, std::string> environment();

}  // namespace txova::kafka
