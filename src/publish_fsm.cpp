#include <txova/kafka/detail/publish_fsm.hpp>

#include <txova/kafka/error.hpp>

#include <boost/asio/error.hpp>

namespace txova::kafka::detail {
namespace {
using boost::system::error_code;
const error_code aborted = boost::asio::error::operation_aborted;
}  // namespace

publish_fsm::action publish_fsm::start() {
  state_ = state::created;
  target_ = target::original;
  return {.next = step::produce};
}

publish_fsm::action publish_fsm::produced(produce_result r, error_code ec, const std::string& text) {
  switch (r) {
    case produce_result::accepted:
      state_ = state::in_flight;
      if (target_ == target::original) ++attempts_;
      return {};
    case produce_result::queue_full:
      state_ = state::waiting_for_room;
      return {.next = step::wait_for_room};
    case produce_result::never_fits:
      if (target_ == target::dead_letter)
        return finish({make_error_code(error::dead_letter_failed),
                       "not delivered (" + failure_text_ + ") and the dead-letter topic failed too: " + text});
      return finish({ec ? ec : make_error_code(error::too_large), text});
  }
  return {};
}

publish_fsm::action publish_fsm::room_available() {
  if (state_ != state::waiting_for_room) return {};
  return {.next = step::produce};
}

publish_fsm::action publish_fsm::delivered() {
  if (state_ == state::done) return {};
  if (target_ == target::dead_letter) return finish({failure_ec_, failure_text_, false, true});
  return finish({error_code{}, {}, true, false});
}

publish_fsm::action publish_fsm::failed(error_code ec, const std::string& text, persistence p, bool dlq_possible) {
  if (state_ == state::done) return {};
  if (target_ == target::dead_letter)
    return finish({make_error_code(error::dead_letter_failed),
                   "not delivered (" + failure_text_ + ") and the dead-letter topic failed too: " + text});
  failure_ec_ = ec;
  failure_text_ = text;
  const int retries_done = attempts_ > 0 ? attempts_ - 1 : 0;
  const bool worth_it = !closing_ && !fatal_ && classify(ec) == failure_kind::transient && retries_done < policy_->retries;
  if (worth_it && (p == persistence::not_persisted || policy_->resend_possibly_persisted)) {
    state_ = state::backoff;
    return {.next = step::start_backoff, .delay = policy_->backoff.delay(retries_done + 1), .retried = true};
  }
  if (p == persistence::possibly_persisted)
    failure_text_ += "; the broker may have stored it, so it was not sent again (that could duplicate it)";
  return after_failure(dlq_possible);
}

publish_fsm::action publish_fsm::after_failure(bool dlq_possible) {
  if (dlq_allowed_ && dlq_possible && !closing_ && !fatal_) {
    target_ = target::dead_letter;
    return {.next = step::produce};
  }
  return finish({failure_ec_, failure_text_});
}

publish_fsm::action publish_fsm::backoff_elapsed() {
  if (state_ != state::backoff) return {};
  return {.next = step::produce};
}

publish_fsm::action publish_fsm::cancel() {
  if (!caller_waiting_ || state_ == state::done) return {};
  switch (state_) {
    case state::backoff: {
      action a = finish({aborted, "cancelled before it was sent again (attempt " + std::to_string(attempts_) +
                                      " failed: " + failure_text_ + ")"});
      a.cancel_backoff = true;
      return a;
    }
    case state::waiting_for_room:
      if (target_ == target::original) {
        action a = finish({aborted, "cancelled before it was sent"});
        a.leave_room_queue = true;
        return a;
      }
      return answer_now({aborted, "cancelled while its dead letter waited to be written (" + failure_text_ + ")"});
    case state::in_flight:
      return answer_now({aborted, target_ == target::original
                                      ? "cancelled while in flight: the event may still be delivered"
                                      : "cancelled while its dead letter was being written (" + failure_text_ + ")"});
    default:
      return finish({aborted, "cancelled before it was sent"});
  }
}

publish_fsm::action publish_fsm::close() {
  closing_ = true;
  switch (state_) {
    case state::waiting_for_room: {
      action a = target_ == target::original
                     ? finish({make_error_code(error::closed), "the producer was closed before this event was sent"})
                     : finish({failure_ec_, failure_text_ + "; the producer was closed before its dead letter was written"});
      a.leave_room_queue = true;
      return a;
    }
    case state::backoff: {
      action a = finish({failure_ec_, "attempt " + std::to_string(attempts_) + " failed (" + failure_text_ +
                                          "); not sent again: the producer was closed"});
      a.cancel_backoff = true;
      return a;
    }
    case state::created:
      return finish({make_error_code(error::closed), "the producer is closed"});
    default:
      return {};
  }
}

publish_fsm::action publish_fsm::fatal(error_code ec, const std::string& text) {
  fatal_ = true;
  switch (state_) {
    case state::done: return {};
    case state::in_flight: return answer_now({ec, text});
    case state::waiting_for_room: {
      action a = finish({ec, text});
      a.leave_room_queue = true;
      return a;
    }
    case state::backoff: {
      action a = finish({ec, text});
      a.cancel_backoff = true;
      return a;
    }
    default: return finish({ec, text});
  }
}

publish_fsm::action publish_fsm::finish(publish_outcome o) {
  state_ = state::done;
  final_ = std::move(o);
  action a{.finished = true};
  if (caller_waiting_) {
    answer_ = final_;
    caller_waiting_ = false;
    a.answer = true;
  }
  return a;
}

publish_fsm::action publish_fsm::answer_now(publish_outcome o) {
  answer_ = std::move(o);
  caller_waiting_ = false;
  answered_early_ = true;
  return {.answer = true};
}

}  // namespace txova::kafka::detail
