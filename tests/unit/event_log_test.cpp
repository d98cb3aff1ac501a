// The event log's store (event_log_sqlite.hpp) and its plain parts: transactions with offsets,
// duplicates ignored, indexed queries, causation trees, pruning.
#include <txova/kafka/event_log_sqlite.hpp>
#include <txova/kafka/events/ride.hpp>
#include <txova/kafka/testing/envelopes.hpp>

#include <boost/test/unit_test.hpp>

#include <filesystem>

using namespace txova::kafka;
using namespace std::chrono_literals;

namespace {

timestamp at(const char* t) { return parse_timestamp(t).value(); }

logged_event logged(const testing::envelope_builder& b, std::string topic, std::int32_t partition, std::int64_t offset) {
  return to_logged_event(b.consumed(std::move(topic), partition, offset));
}

std::unique_ptr<event_log_store> open(const std::string& path = ":memory:") {
  auto s = open_sqlite_event_log(path);
  BOOST_TEST_REQUIRE(s.has_value(), (s ? "" : s.error().message));
  return std::move(*s);
}

events::ride_started ride(std::string id) { return {ids::ride_id(std::move(id)), now_utc(), location{-25.96, 32.58}}; }

}  // namespace

BOOST_AUTO_TEST_SUITE(event_log_store_suite)

BOOST_AUTO_TEST_CASE(appends_with_offsets_in_one_transaction_and_ignores_what_it_has) {
  const std::string path = (std::filesystem::temp_directory_path() / ("txova-eventlog-" + new_uuid() + ".db")).string();
  {
    auto store = open(path);
    BOOST_TEST(!store->next_offset("txova.rides.v1", 0).value().has_value());
    std::vector<logged_event> batch{logged(testing::envelope_for(ride("ride-1")), "txova.rides.v1", 0, 10),
                                    logged(testing::envelope_for(ride("ride-2")), "txova.rides.v1", 0, 11)};
    BOOST_TEST(!store->append(batch, {{"txova.rides.v1", 0, 12}}));
    BOOST_TEST(batch[0].sequence > 0);
    BOOST_TEST(store->next_offset("txova.rides.v1", 0).value().value_or(-1) == 12);
    // A redelivered batch (a crash between the store and the group commit): nothing twice.
    std::vector<logged_event> again{logged(testing::envelope_for(ride("ride-2")), "txova.rides.v1", 0, 11)};
    BOOST_TEST(!store->append(again, {{"txova.rides.v1", 0, 12}}));
    BOOST_TEST(again[0].sequence == 0, "not stored again");
    BOOST_TEST(store->count().value() == 2u);
    // An offset never moves back.
    std::vector<logged_event> none;
    BOOST_TEST(!store->append(none, {{"txova.rides.v1", 0, 5}}));
    BOOST_TEST(store->next_offset("txova.rides.v1", 0).value().value_or(-1) == 12);
  }
  auto reopened = open(path);  // what a restart sees
  BOOST_TEST(reopened->count().value() == 2u);
  BOOST_TEST(reopened->next_offset("txova.rides.v1", 0).value().value_or(-1) == 12);
  const auto all = reopened->query({}).value();
  BOOST_TEST_REQUIRE(all.size() == 2u);
  BOOST_TEST(all[0].key.value_or("") == "ride-1");
  BOOST_TEST(all[0].offset == 10);
  BOOST_TEST(all[0].event->type == "ride.started");
  bool has_id_header = false;
  for (const auto& [k, v] : all[0].headers) has_id_header |= k == "event-id" && v == all[0].event->id;
  BOOST_TEST(has_id_header, "the record's headers were kept");
  std::filesystem::remove(path);
}

BOOST_AUTO_TEST_CASE(queries_by_chain_key_type_and_time_and_builds_the_causation_tree) {
  auto store = open();
  auto root = testing::envelope_for(ride("ride-7")).correlation("c-1").at(at("2026-11-01T10:00:00Z"));
  auto child = testing::raw_envelope("payment.initiated", "1.0", R"({"payment_id":"pay-7"})")
                         .caused_by(root.build()).at(at("2026-11-01T10:00:01Z"));
  auto grandchild = testing::raw_envelope("payment.completed", "1.0", R"({"payment_id":"pay-7"})")
                              .caused_by(child.build()).at(at("2026-11-01T10:00:02Z"));
  auto other = testing::envelope_for(ride("ride-8")).at(at("2026-10-01T00:00:00Z"));
  child.with_key("pay-7");
  grandchild.with_key("pay-7");
  std::vector<logged_event> batch{logged(grandchild, "txova.payments.v1", 0, 0), logged(root, "txova.rides.v1", 0, 0),
                                  logged(child, "txova.payments.v1", 0, 1), logged(other, "txova.rides.v1", 1, 0)};
  BOOST_TEST(!store->append(batch, {}));

  const auto chain = store->query(event_query{.correlation_id = "c-1"}).value();
  BOOST_TEST(chain.size() == 3u);
  const auto tree = causation_tree(chain);
  BOOST_TEST_REQUIRE(tree.size() == 1u, "one root: the ride");
  BOOST_TEST(tree[0].event.event->type == "ride.started");
  BOOST_TEST_REQUIRE(tree[0].children.size() == 1u);
  BOOST_TEST(tree[0].children[0].event.event->type == "payment.initiated");
  BOOST_TEST_REQUIRE(tree[0].children[0].children.size() == 1u);
  BOOST_TEST(tree[0].children[0].children[0].event.event->type == "payment.completed");

  BOOST_TEST(store->query(event_query{.key = "pay-7"}).value().size() == 2u);
  BOOST_TEST(store->query(event_query{.type = "payment.*"}).value().size() == 2u);
  BOOST_TEST(store->query(event_query{.type = "ride.started"}).value().size() == 2u);
  BOOST_TEST(store->query(event_query{.type = "*"}).value().size() == 4u);
  BOOST_TEST(store->query(event_query{.key = "ride-7", .type = "ride.*", .since = at("2026-11-01T00:00:00Z")}).value().size() == 1u);
  BOOST_TEST(store->query(event_query{.since = at("2026-11-01T10:00:01Z"), .until = at("2026-11-01T10:00:02Z")}).value().size() == 1u);
  BOOST_TEST(store->query(event_query{.type = "ride.*", .until = at("2026-11-01T00:00:00Z")}).value().size() == 1u);
  const auto page = store->query(event_query{.limit = 2}).value();
  BOOST_TEST_REQUIRE(page.size() == 2u);
  BOOST_TEST(store->query(event_query{.after_sequence = page.back().sequence}).value().size() == 2u);
}

BOOST_AUTO_TEST_CASE(records_that_are_not_envelopes_are_kept_with_the_reason) {
  auto store = open();
  std::vector<logged_event> batch{to_logged_event(testing::record_builder("txova.rides.v1").offset(3).key("k").value("{not json").build()),
                                  to_logged_event(testing::record_builder("txova.rides.v1").offset(4).tombstone().build())};
  BOOST_TEST(!batch[0].event.has_value());
  BOOST_TEST(batch[0].error.find("not a valid envelope") != std::string::npos, batch[0].error);
  BOOST_TEST(!store->append(batch, {{"txova.rides.v1", 0, 5}}));
  const auto back = store->query({}).value();
  BOOST_TEST_REQUIRE(back.size() == 2u);
  BOOST_TEST(back[0].value == "{not json");
  BOOST_TEST(back[0].error == batch[0].error);
  BOOST_TEST(back[1].error == "a tombstone (null value)");
}

BOOST_AUTO_TEST_CASE(pruning_drops_old_events_in_bounded_batches) {
  auto store = open();
  std::vector<logged_event> batch;
  for (int i = 0; i < 30; ++i) {
    const auto when = i < 20 ? now_utc() - std::chrono::hours(24 * 40) : now_utc();
    batch.push_back(logged(testing::envelope_for(ride("ride-" + std::to_string(i))).at(when), "txova.rides.v1", 0, i));
  }
  BOOST_TEST(!store->append(batch, {}));
  const retention month{.max_age = std::chrono::hours(24 * 30)};
  BOOST_TEST(store->prune(month, 8).value() == 8u, "at most one batch per call");
  BOOST_TEST(store->prune(month, 8).value() == 8u);
  BOOST_TEST(store->prune(month, 8).value() == 4u);
  BOOST_TEST(store->prune(month, 8).value() == 0u);
  BOOST_TEST(store->count().value() == 10u);
  BOOST_TEST(store->prune(retention{.max_events = 6}, 100).value() == 4u);
  const auto kept = store->query({}).value();
  BOOST_TEST_REQUIRE(kept.size() == 6u);
  BOOST_TEST(kept.front().offset == 24, "the oldest went first");
}

BOOST_AUTO_TEST_CASE(a_store_that_cannot_be_opened_says_where) {
  auto s = open_sqlite_event_log("/nonexistent-dir/x/events.db");
  BOOST_TEST_REQUIRE(!s.has_value());
  BOOST_TEST(s.error().message.find("/nonexistent-dir/x/events.db") != std::string::npos, s.error().message);
}

BOOST_AUTO_TEST_SUITE_END()
