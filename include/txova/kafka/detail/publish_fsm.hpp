#pragma once
// The lifecycle of one publish as a state machine without I/O (the Boost.Redis way): the
// producer tells it what happened (the produce call's result, a delivery report, the backoff
// timer, a cancellation, close, a fatal error) and does what it answers. No Asio, no librdkafka:
// unit tests drive it through every transition.
//
//   created --produce--> in_flight --delivered--> done
//      | queue full          | failed
//      v                     +-- transient, retries left, not possibly stored --> backoff --elapsed--> produce
//   waiting_for_room         +-- otherwise, DLQ allowed --> produce to the DLQ (in_flight) --> done
//      --room--> produce     +-- otherwise --> done with the error
//
// Cancel: waiting for room or in backoff, done at once (never sent); in flight, the caller is
// answered at once and the message goes on: a delivery failure after that is still retried and
// dead-lettered, so it is reported, never only logged. Close: waiting or in backoff, done with
// error::closed; in flight, no retries and no DLQ afterwards. Fatal: the caller is answered with
// the fatal error at once; an in-flight message still gets its report.
#include <txova/kafka/retry.hpp>

#include <boost/system/error_code.hpp>

#include <chrono>
#include <string>

namespace txova::kafka::detail {

/// What librdkafka knows of a failed message (rd_kafka_message_status).
enum class persistence { not_persisted, possibly_persisted, persisted };

/// The producer's retry and DLQ settings, as one publish needs them.
struct publish_policy {
  int retries = 0;                         ///< our re-sends after librdkafka gave up
  backoff_policy backoff{};
  bool resend_possibly_persisted = false;  ///< re-send even when the first copy may be stored
};

/// How the produce call went.
enum class produce_result {
  accepted,    ///< librdkafka took it: a delivery report will come
  queue_full,  ///< no room now: wait for some
  never_fits,  ///< no room even with librdkafka's queue empty: waiting would never end
};
// A produce call refused outright (bad topic, unknown partition) is reported as failed().

/// A publish's result: what the caller is told, and what stats and logs record.
struct publish_outcome {
  boost::system::error_code ec;  ///< success, the send's error, dead_letter_failed, closed, aborted, ...
  std::string message;           ///< what went wrong, with the values
  bool delivered = false;        ///< the original reached the broker
  bool dead_lettered = false;    ///< written to the DLQ instead
};

class publish_fsm {
public:
  enum class state { created, waiting_for_room, in_flight, backoff, done };
  enum class target { original, dead_letter };
  enum class step { none, produce, wait_for_room, start_backoff };

  /// What the producer does after an event.
  struct action {
    step next = step::none;
    std::chrono::milliseconds delay{0};  ///< start_backoff
    bool leave_room_queue = false;       ///< it waited for room and does no longer
    bool cancel_backoff = false;         ///< its backoff timer is pending and no longer wanted
    bool answer = false;                 ///< complete the caller now with answer()
    bool finished = false;               ///< the publish is over: final() holds its result
    bool retried = false;                ///< a retry was scheduled
  };

  /// `dead_letter`: failures of this publish may go to the DLQ (false for raw records).
  publish_fsm(const publish_policy& policy, bool dead_letter) noexcept : policy_(&policy), dlq_allowed_(dead_letter) {}

  action start();
  /// The result of the produce call an action asked for; `ec`/`text` say why it never fits.
  action produced(produce_result r, boost::system::error_code ec = {}, const std::string& text = {});
  action room_available();
  action delivered();
  /// A delivery report with an error. `dlq_possible`: the DLQ could take it (false when the
  /// topic name itself is invalid, or the producer is in a fatal state).
  action failed(boost::system::error_code ec, const std::string& text, persistence p, bool dlq_possible);
  action backoff_elapsed();
  action cancel();
  action close();
  action fatal(boost::system::error_code ec, const std::string& text);

  state current() const noexcept { return state_; }
  target sending_to() const noexcept { return target_; }
  bool caller_waiting() const noexcept { return caller_waiting_; }
  /// The caller was answered before the publish ended (cancelled in flight, a fatal error).
  bool answered_early() const noexcept { return answered_early_; }
  bool closing() const noexcept { return closing_; }
  /// Sends of the original so far.
  int attempts() const noexcept { return attempts_; }
  const publish_outcome& answer() const noexcept { return answer_; }
  const publish_outcome& final() const noexcept { return final_; }
  /// The first send failure's error and text, for the DLQ record.
  const boost::system::error_code& failure_code() const noexcept { return failure_ec_; }
  const std::string& failure_text() const noexcept { return failure_text_; }

private:
  action finish(publish_outcome o);
  action answer_now(publish_outcome o);
  action after_failure(bool dlq_possible);

  const publish_policy* policy_;
  bool dlq_allowed_;
  state state_ = state::created;
  target target_ = target::original;
  int attempts_ = 0;
  bool caller_waiting_ = true;
  bool answered_early_ = false;
  bool closing_ = false;
  bool fatal_ = false;
  boost::system::error_code failure_ec_;
  std::string failure_text_;
  publish_outcome answer_;
  publish_outcome final_;
};

}  // namespace txova::kafka::detail
