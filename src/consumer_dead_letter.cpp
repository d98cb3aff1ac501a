// consumer_core's dead letters: the record and its failure go to the DLQ, written with the
// library's one builder (dead_letter_record in dlq.hpp); a write that keeps failing is bounded
// by the configured policy instead of wedging its partition in silence.
#include "consumer_core.hpp"

#include <txova/kafka/dlq.hpp>
#include <txova/kafka/log.hpp>
#include <txova/kafka/rdkafka_error.hpp>
#include <txova/kafka/topics.hpp>

#include <librdkafka/rdkafka.h>  // error codes only
#include <spdlog/spdlog.h>

namespace txova::kafka::detail {

namespace asio = boost::asio;


// Writes `r` to its DLQ with the failure; true when written. A failed write is tried
// dead_letter_attempts times with backoff; then, by policy, the consumer stops with an error
// naming the record, the DLQ and the broker's reason (the record stays uncommitted), or keeps
// trying with the partition reported as stuck. False: the partition is given up (revoked,
// stopping) and the record stays uncommitted.
asio::awaitable<bool> consumer_core::write_dead_letter(partition_state& p, const consumed_record& r, std::string reason,
                                                        int attempts, timestamp first_failure, timestamp last_failure) {
  const std::string where = p.topic + "[" + std::to_string(p.partition) + "]@" + std::to_string(r.offset());
  if (!cfg_.dead_letter) {
    ++stats_.skipped;
    logger()->error("consumer {}: record {} failed ({}) and dead_letter is off: committed without handling", group_,
                    where, reason);
    note(p, consumer_probe::verdict::skipped, reason + " (dead_letter is off)");
    co_return true;
  }
  dead_letter d;
  d.original_topic = p.topic;
  d.original_partition = p.partition;
  d.original_offset = r.offset();
  if (r.has_key()) d.original_key = std::string(r.key());
  if (!r.is_tombstone()) d.original_value = std::string(r.value());
  d.error_message = std::move(reason);
  d.attempt_count = attempts;
  d.first_failure = first_failure;
  d.last_failure = last_failure;
  d.consumer_group = group_;
  basic_producer<>& producer = dlq();
  producer_record out = kafka::dead_letter_record(d, cfg_.dead_letter_topic.topic_for(p.topic), r.headers(), dlq_max_bytes_);
  for (int attempt = 1;; ++attempt) {
    auto [ec, del] = co_await producer.async_send(out, asio::as_tuple(asio::use_awaitable));
    if ((ec == error::too_large || ec == make_rdkafka_error(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)) &&
        out.value->find("\"value_omitted\":true") == std::string::npos) {
      // The DLQ's broker takes less than our limit: the smallest dead letter (no embedded copy,
      // no original headers; original_topic/partition/offset point at the bytes) goes next.
      logger()->warn("consumer {}: dead letter of {} is too large for {} ({}); writing it without the original value",
                     group_, where, out.topic, del.error_message.empty() ? ec.message() : del.error_message);
      out = kafka::dead_letter_record(d, out.topic, {}, 0);
      --attempt;
      continue;
    }
    if (!ec) {
      ++stats_.dead_lettered;
      if (!p.stuck.empty()) {
        logger()->info("consumer {}: {} is no longer stuck", group_, where);
        --stuck_;
      }
      p.stuck.clear();
      logger()->warn("consumer {}: record {} written to {} [{}]@{}: {}", group_, where, del.topic, del.partition,
                     del.offset, d.error_message);
      note(p, consumer_probe::verdict::dead_lettered, d.error_message);
      co_return true;
    }
    ++stats_.dead_letter_failures;
    const std::string why = "could not write record " + where + " to " + out.topic + " (attempt " +
                            std::to_string(attempt) + "): " + (del.error_message.empty() ? ec.message() : del.error_message);
    if (!p.fsm.running() || stopping_ || destroyed_) co_return false;
    if (attempt >= cfg_.dead_letter_attempts) {
      if (cfg_.on_dead_letter_failure == dead_letter_failure::stop) {
        fail(make_diagnostic(error::dead_letter_failed, "dead_letter",
                             why + "; the record stays uncommitted and the consumer stops (on_dead_letter_failure=stop)"));
        co_return false;
      }
      if (p.stuck.empty()) {
        logger()->error("consumer {}: {}; the partition is stuck until it succeeds", group_, why);
        ++stuck_;
      }
      p.stuck = why;
    } else {
      logger()->error("consumer {}: {}; retrying", group_, why);
    }
    if (!co_await sleep(p, backoff_.delay(std::min(attempt, 16)))) co_return false;
  }
}

basic_producer<>& consumer_core::dlq() {
  if (!dlq_) {
    producer_config pc;
    if (cfg_.dead_letter_producer) {
      pc = *cfg_.dead_letter_producer;
    } else {
      pc = producer_config_for(cfg_);
      pc.client_id = group_ + "-dlq";
      pc.dead_letter = false;
      pc.max_message_bytes = std::max<std::size_t>(cfg_.max_message_bytes * 2 + 4096, pc.max_message_bytes);
    }
    dlq_max_bytes_ = pc.max_message_bytes;
    if (dead_letter_port_) dlq_.emplace(ex_, std::move(pc), std::move(dead_letter_port_));
    else dlq_.emplace(ex_, std::move(pc));
  }
  return *dlq_;
}

}  // namespace txova::kafka::detail
