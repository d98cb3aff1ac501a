// partition_fsm through its transitions, the ugly orders included: a revoke while a record is in
// its handler, commit failures after a revoke, handlers that ignore their cancellation, a record
// finishing while the final commit is on its way, a revoke that turns into a loss.
#include <txova/kafka/detail/partition_fsm.hpp>
#include <txova/kafka/error.hpp>

#include <boost/test/unit_test.hpp>

#include "test_support.hpp"

using namespace txova::kafka;
using detail::partition_fsm;
using state = partition_fsm::state;

namespace {
const boost::system::error_code commit_failed = make_error_code(error::timed_out);

// Fetches offsets [from, to) and starts the first `started` of them.
void fetch(partition_fsm& f, std::int64_t from, std::int64_t to) {
  for (std::int64_t o = from; o < to; ++o) {
    partition_fsm::action a;
    BOOST_TEST_REQUIRE(f.fetched(o, a));
  }
}
}  // namespace

BOOST_AUTO_TEST_SUITE(partition_lifecycle)

BOOST_AUTO_TEST_CASE(records_are_committed_only_as_a_done_prefix) {
  partition_fsm f(100);
  fetch(f, 0, 3);
  f.started();
  f.started();
  f.done(1);
  BOOST_TEST(*f.committable() == 0, "offset 0 is not done: nothing past it");
  f.done(0);
  BOOST_TEST(*f.committable() == 2);
  partition_fsm::action a;
  BOOST_TEST(!f.fetched(1, a), "a refetched record is not handled twice");
}

BOOST_AUTO_TEST_CASE(held_at_the_limit_and_released_at_half) {
  partition_fsm f(4);
  bool held = false;
  for (std::int64_t o = 0; o < 4; ++o) {
    partition_fsm::action a;
    f.fetched(o, a);
    held = held || a.hold;
  }
  BOOST_TEST(held);
  BOOST_TEST(f.held());
  f.started();
  BOOST_TEST(!f.done(0).release, "3 of 4 still wait");
  f.started();
  BOOST_TEST(f.done(1).release, "at half");
  BOOST_TEST(!f.held());
}

BOOST_AUTO_TEST_CASE(a_held_partition_may_keep_what_its_strand_works_through_in_ten_looks) {
  BOOST_TEST(detail::held_prefetch_limit(1000, 0) == 1000u);
  BOOST_TEST(detail::held_prefetch_limit(1000, 99) == 1000u, "a slow strand: the configured records");
  BOOST_TEST(detail::held_prefetch_limit(1000, 2500) == 25000u, "a strand working through its records");
}

BOOST_AUTO_TEST_CASE(revoked_while_idle_commits_at_once_then_is_gone) {
  partition_fsm f(100);
  fetch(f, 0, 2);
  f.started();
  f.done(0);
  f.started();
  f.done(1);
  auto a = f.revoked(false);
  BOOST_TEST(a.drop_queued);
  BOOST_TEST_REQUIRE(a.commit.has_value());
  BOOST_TEST(*a.commit == 2);
  BOOST_TEST((f.current() == state::committing));
  a = f.commit_result(2, {});
  BOOST_TEST(a.gone);
  BOOST_TEST((f.current() == state::gone));
}

BOOST_AUTO_TEST_CASE(revoked_with_nothing_new_to_commit_is_gone_at_once) {
  partition_fsm f(100);
  BOOST_TEST(f.revoked(false).gone);
}

BOOST_AUTO_TEST_CASE(a_revoke_while_a_record_is_in_its_handler_waits_for_it_and_commits_it) {
  partition_fsm f(100);
  fetch(f, 10, 13);  // 10 in the handler, 11 and 12 queued
  f.started();
  auto a = f.revoked(false);
  BOOST_TEST(a.drop_queued, "queued records are dropped undone");
  BOOST_TEST(!a.commit.has_value(), "not before the handler is done");
  BOOST_TEST(!a.gone);
  BOOST_TEST((f.current() == state::revoking));
  partition_fsm::action ignored;
  BOOST_TEST(!f.fetched(13, ignored), "nothing new is taken once revoked");
  a = f.done(10);
  BOOST_TEST_REQUIRE(a.commit.has_value());
  BOOST_TEST(*a.commit == 11, "the handled record, not the dropped ones");
  BOOST_TEST(f.commit_result(11, {}).gone);
}

BOOST_AUTO_TEST_CASE(a_revoke_during_retries_abandons_the_record_uncommitted) {
  partition_fsm f(100);
  fetch(f, 0, 2);
  f.started();
  f.done(0);
  f.started();  // offset 1 fails and waits for its retry
  f.revoked(false);
  const auto a = f.abandoned();
  BOOST_TEST_REQUIRE(a.commit.has_value());
  BOOST_TEST(*a.commit == 1, "up to the abandoned record");
}

BOOST_AUTO_TEST_CASE(handlers_that_ignore_cancellation_are_given_up_at_the_second_deadline) {
  partition_fsm f(100);
  fetch(f, 0, 2);
  f.started();
  f.done(0);
  f.started();  // offset 1 never finishes
  f.revoked(false);
  auto a = f.revoke_deadline();
  BOOST_TEST(a.cancel_handlers);
  BOOST_TEST(!a.commit.has_value());
  a = f.revoke_deadline();
  BOOST_TEST_REQUIRE(a.commit.has_value());
  BOOST_TEST(*a.commit == 1, "the done prefix only: the stuck record goes to the next owner");
  a = f.done(1);  // finishes after all
  BOOST_TEST(!a.commit.has_value(), "in committing, a late finish waits for the commit result");
  a = f.commit_result(1, {});
  BOOST_TEST_REQUIRE(a.commit.has_value(), "a second round commits what finished meanwhile");
  BOOST_TEST(*a.commit == 2);
  BOOST_TEST(f.commit_result(2, {}).gone);
}

BOOST_AUTO_TEST_CASE(a_commit_failure_after_a_revoke_gives_the_partition_up_and_says_so) {
  partition_fsm f(100);
  fetch(f, 0, 1);
  f.started();
  f.done(0);
  f.revoked(false);
  const auto a = f.commit_result(1, commit_failed);
  BOOST_TEST(a.gone);
  BOOST_TEST(f.final_commit_failed());
  BOOST_TEST(f.tracker().position() == 1);
}

BOOST_AUTO_TEST_CASE(a_final_commit_that_never_returns_ends_at_its_deadline) {
  partition_fsm f(100);
  fetch(f, 0, 1);
  f.started();
  f.done(0);
  f.revoked(false);
  BOOST_TEST(f.commit_deadline().gone);
  BOOST_TEST(f.final_commit_failed());
  BOOST_TEST(!f.commit_result(1, {}).gone, "a late result changes nothing");
}

BOOST_AUTO_TEST_CASE(a_lost_partition_commits_nothing) {
  partition_fsm f(100);
  fetch(f, 0, 2);
  f.started();
  f.done(0);
  f.started();
  auto a = f.revoked(true);
  BOOST_TEST(!a.commit.has_value());
  BOOST_TEST(f.lost());
  a = f.done(1);
  BOOST_TEST(a.gone);
  BOOST_TEST(!a.commit.has_value());
}

BOOST_AUTO_TEST_CASE(lost_while_committing_is_gone_at_once) {
  partition_fsm f(100);
  fetch(f, 0, 1);
  f.started();
  f.done(0);
  f.revoked(false);
  BOOST_TEST((f.current() == state::committing));
  BOOST_TEST(f.revoked(true).gone);
}

BOOST_AUTO_TEST_CASE(interval_commits_while_running_advance_what_was_committed) {
  partition_fsm f(100);
  fetch(f, 0, 3);
  for (std::int64_t o = 0; o < 3; ++o) {
    f.started();
    f.done(o);
  }
  BOOST_TEST(*f.committable() == 3);
  BOOST_TEST(!f.commit_result(3, {}).gone);
  BOOST_TEST(!f.committable().has_value());
  BOOST_TEST(!f.commit_result(3, commit_failed).gone, "a failed interval commit is tried again later");
}

BOOST_AUTO_TEST_SUITE_END()
