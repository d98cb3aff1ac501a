// publish_fsm through every transition that matters, without a broker: the produce call's
// result, delivery reports, the backoff, cancellation, close and fatal errors in every state.
#include <txova/kafka/detail/publish_fsm.hpp>
#include <txova/kafka/error.hpp>
#include <txova/kafka/rdkafka_error.hpp>

#include <boost/asio/error.hpp>
#include <boost/test/unit_test.hpp>
#include <librdkafka/rdkafka.h>

#include "test_support.hpp"

using namespace txova::kafka;
using namespace std::chrono_literals;
using detail::persistence;
using detail::produce_result;
using detail::publish_fsm;
using step = publish_fsm::step;
using state = publish_fsm::state;
using target = publish_fsm::target;

namespace {

const boost::system::error_code timed_out = make_rdkafka_error(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT);
const boost::system::error_code invalid_record = make_rdkafka_error(RD_KAFKA_RESP_ERR_INVALID_RECORD);
const boost::system::error_code aborted = boost::asio::error::operation_aborted;

detail::publish_policy policy(int retries, bool resend_possibly_persisted = false) {
  detail::publish_policy p;
  p.retries = retries;
  p.backoff = backoff_policy{100ms, 1000ms, 2.0, 0.0};  // no jitter: delays are exact
  p.resend_possibly_persisted = resend_possibly_persisted;
  return p;
}

// Starts a publish and has librdkafka take it.
void send(publish_fsm& f) {
  BOOST_TEST_REQUIRE((f.start().next == step::produce));
  const auto a = f.produced(produce_result::accepted);
  BOOST_TEST_REQUIRE((a.next == step::none));
  BOOST_TEST_REQUIRE((f.current() == state::in_flight));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(publish_lifecycle)

BOOST_AUTO_TEST_CASE(delivered_answers_the_caller_and_finishes) {
  const auto p = policy(0);
  publish_fsm f(p, true);
  send(f);
  BOOST_TEST(f.attempts() == 1);
  const auto a = f.delivered();
  BOOST_TEST(a.answer);
  BOOST_TEST(a.finished);
  BOOST_TEST(!f.answer().ec);
  BOOST_TEST(f.answer().delivered);
  BOOST_TEST((f.current() == state::done));
  BOOST_TEST(!f.delivered().finished, "a second report changes nothing");
}

BOOST_AUTO_TEST_CASE(queue_full_waits_for_room_then_produces) {
  const auto p = policy(0);
  publish_fsm f(p, true);
  BOOST_TEST((f.start().next == step::produce));
  BOOST_TEST((f.produced(produce_result::queue_full).next == step::wait_for_room));
  BOOST_TEST((f.current() == state::waiting_for_room));
  BOOST_TEST(f.attempts() == 0, "nothing was sent yet");
  BOOST_TEST((f.room_available().next == step::produce));
  BOOST_TEST((f.produced(produce_result::accepted).next == step::none));
  BOOST_TEST(f.attempts() == 1);
}

BOOST_AUTO_TEST_CASE(a_message_that_never_fits_fails_at_once) {
  const auto p = policy(3);
  publish_fsm f(p, true);
  f.start();
  const auto a = f.produced(produce_result::never_fits, make_error_code(error::too_large), "event of 9 bytes does not fit");
  BOOST_TEST(a.finished);
  BOOST_TEST((f.answer().ec == error::too_large));
  BOOST_TEST(f.answer().message == "event of 9 bytes does not fit");
}

BOOST_AUTO_TEST_CASE(a_transient_failure_not_stored_is_retried_after_the_backoff) {
  const auto p = policy(2);
  publish_fsm f(p, true);
  send(f);
  auto a = f.failed(timed_out, "Local: Message timed out", persistence::not_persisted, true);
  BOOST_TEST((a.next == step::start_backoff));
  BOOST_TEST(a.delay == 100ms);
  BOOST_TEST(a.retried);
  BOOST_TEST(!a.answer);
  BOOST_TEST((f.current() == state::backoff));
  BOOST_TEST((f.backoff_elapsed().next == step::produce));
  f.produced(produce_result::accepted);
  BOOST_TEST(f.attempts() == 2);
  a = f.failed(timed_out, "Local: Message timed out", persistence::not_persisted, true);
  BOOST_TEST(a.delay == 200ms, "the backoff doubles");
  f.backoff_elapsed();
  f.produced(produce_result::accepted);
  a = f.failed(timed_out, "Local: Message timed out", persistence::not_persisted, true);
  BOOST_TEST((a.next == step::produce), "retries spent: to the DLQ");
  BOOST_TEST((f.sending_to() == target::dead_letter));
}

BOOST_AUTO_TEST_CASE(our_retries_are_off_by_default_so_a_failure_goes_to_the_dlq) {
  const auto p = policy(0);
  publish_fsm f(p, true);
  send(f);
  const auto a = f.failed(timed_out, "Local: Message timed out", persistence::not_persisted, true);
  BOOST_TEST((a.next == step::produce));
  BOOST_TEST((f.sending_to() == target::dead_letter));
  BOOST_TEST(!a.retried);
}

BOOST_AUTO_TEST_CASE(a_possibly_stored_message_is_never_sent_again_unless_asked) {
  const auto p = policy(3);
  publish_fsm f(p, true);
  send(f);
  const auto a = f.failed(timed_out, "Local: Message timed out", persistence::possibly_persisted, true);
  BOOST_TEST(!a.retried);
  BOOST_TEST((f.sending_to() == target::dead_letter));
  BOOST_TEST(f.failure_text().find("may have stored it") != std::string::npos, f.failure_text());

  const auto resend = policy(3, true);
  publish_fsm g(resend, true);
  send(g);
  BOOST_TEST((g.failed(timed_out, "timed out", persistence::possibly_persisted, true).next == step::start_backoff));
}

BOOST_AUTO_TEST_CASE(a_permanent_failure_goes_to_the_dlq_and_the_caller_gets_the_original_error) {
  const auto p = policy(3);
  publish_fsm f(p, true);
  send(f);
  BOOST_TEST((f.failed(invalid_record, "Broker: invalid record", persistence::not_persisted, true).next == step::produce));
  f.produced(produce_result::accepted);
  BOOST_TEST(f.attempts() == 1, "the DLQ write is not an attempt of the event");
  const auto a = f.delivered();
  BOOST_TEST(a.finished);
  BOOST_TEST((f.answer().ec == invalid_record));
  BOOST_TEST(f.answer().dead_lettered);
  BOOST_TEST(!f.answer().delivered);
}

BOOST_AUTO_TEST_CASE(a_dlq_that_fails_too_reports_both_reasons) {
  const auto p = policy(0);
  publish_fsm f(p, true);
  send(f);
  f.failed(invalid_record, "Broker: invalid record (topic \"t\")", persistence::not_persisted, true);
  f.produced(produce_result::accepted);
  f.failed(timed_out, "Local: Message timed out (topic \"t.dlq\")", persistence::not_persisted, true);
  BOOST_TEST((f.answer().ec == error::dead_letter_failed));
  BOOST_TEST(f.answer().message.find("invalid record") != std::string::npos);
  BOOST_TEST(f.answer().message.find("t.dlq") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(without_a_dlq_the_error_is_final) {
  const auto p = policy(0);
  publish_fsm raw(p, false);
  send(raw);
  BOOST_TEST(raw.failed(invalid_record, "invalid", persistence::not_persisted, true).finished);
  BOOST_TEST((raw.answer().ec == invalid_record));
  publish_fsm bad_topic(p, true);
  send(bad_topic);
  BOOST_TEST(bad_topic.failed(invalid_record, "invalid", persistence::not_persisted, false).finished,
             "no DLQ when the port says it cannot take it");
}

BOOST_AUTO_TEST_CASE(cancel_while_waiting_for_room_never_sends) {
  const auto p = policy(0);
  publish_fsm f(p, true);
  f.start();
  f.produced(produce_result::queue_full);
  const auto a = f.cancel();
  BOOST_TEST(a.finished);
  BOOST_TEST(a.answer);
  BOOST_TEST(a.leave_room_queue);
  BOOST_TEST((f.answer().ec == aborted));
  BOOST_TEST(f.answer().message == "cancelled before it was sent");
}

BOOST_AUTO_TEST_CASE(cancel_during_backoff_stops_the_retry) {
  const auto p = policy(2);
  publish_fsm f(p, true);
  send(f);
  f.failed(timed_out, "Local: Message timed out", persistence::not_persisted, true);
  const auto a = f.cancel();
  BOOST_TEST(a.finished);
  BOOST_TEST(a.cancel_backoff);
  BOOST_TEST((f.answer().ec == aborted));
  BOOST_TEST(f.answer().message.find("Message timed out") != std::string::npos, "says what had failed");
  BOOST_TEST((f.backoff_elapsed().next == step::none), "a late timer does nothing");
}

BOOST_AUTO_TEST_CASE(cancel_in_flight_answers_now_and_a_later_failure_still_goes_to_the_dlq) {
  const auto p = policy(0);
  publish_fsm f(p, true);
  send(f);
  auto a = f.cancel();
  BOOST_TEST(a.answer);
  BOOST_TEST(!a.finished);
  BOOST_TEST((f.answer().ec == aborted));
  BOOST_TEST(f.answer().message.find("may still be delivered") != std::string::npos);
  BOOST_TEST(!f.caller_waiting());
  a = f.failed(invalid_record, "Broker: invalid record", persistence::not_persisted, true);
  BOOST_TEST((a.next == step::produce), "reported, not only logged");
  BOOST_TEST(!a.answer, "the caller was answered already");
  f.produced(produce_result::accepted);
  a = f.delivered();
  BOOST_TEST(a.finished);
  BOOST_TEST(f.final().dead_lettered);
  BOOST_TEST(f.answered_early());
}

BOOST_AUTO_TEST_CASE(close_fails_what_waits_and_stops_retries_of_what_is_in_flight) {
  const auto p = policy(3);
  publish_fsm waiting(p, true);
  waiting.start();
  waiting.produced(produce_result::queue_full);
  auto a = waiting.close();
  BOOST_TEST(a.finished);
  BOOST_TEST(a.leave_room_queue);
  BOOST_TEST((waiting.answer().ec == error::closed));

  publish_fsm backing_off(p, true);
  send(backing_off);
  backing_off.failed(timed_out, "timed out", persistence::not_persisted, true);
  a = backing_off.close();
  BOOST_TEST(a.finished);
  BOOST_TEST(a.cancel_backoff);
  BOOST_TEST(backing_off.answer().message.find("closed") != std::string::npos);

  publish_fsm flying(p, true);
  send(flying);
  BOOST_TEST(!flying.close().finished, "in flight: its report decides");
  a = flying.failed(timed_out, "timed out", persistence::not_persisted, true);
  BOOST_TEST(a.finished, "no retry and no DLQ once closing");
  BOOST_TEST(!a.retried);
  BOOST_TEST((flying.answer().ec == timed_out));
}

BOOST_AUTO_TEST_CASE(a_fatal_error_answers_at_once_in_every_state) {
  const auto p = policy(3);
  const auto fatal = make_error_code(error::fatal);
  publish_fsm flying(p, true);
  send(flying);
  auto a = flying.fatal(fatal, "fatal librdkafka error");
  BOOST_TEST(a.answer);
  BOOST_TEST(!a.finished);
  BOOST_TEST((flying.answer().ec == error::fatal));
  a = flying.failed(make_rdkafka_error(RD_KAFKA_RESP_ERR__PURGE_QUEUE), "purged", persistence::not_persisted, true);
  BOOST_TEST(a.finished, "no DLQ from a fatal producer");
  BOOST_TEST((a.next == step::none));

  publish_fsm waiting(p, true);
  waiting.start();
  waiting.produced(produce_result::queue_full);
  a = waiting.fatal(fatal, "fatal");
  BOOST_TEST(a.finished);
  BOOST_TEST(a.leave_room_queue);

  publish_fsm backing_off(p, true);
  send(backing_off);
  backing_off.failed(timed_out, "timed out", persistence::not_persisted, true);
  a = backing_off.fatal(fatal, "fatal");
  BOOST_TEST(a.finished);
  BOOST_TEST(a.cancel_backoff);
}

BOOST_AUTO_TEST_SUITE_END()
