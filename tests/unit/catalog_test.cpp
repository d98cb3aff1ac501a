#include <txova/kafka/envelope.hpp>
#include <txova/kafka/events/all.hpp>
#include <txova/kafka/topics.hpp>

#include <boost/mp11/algorithm.hpp>
#include <boost/test/unit_test.hpp>

#include "test_support.hpp"

#include <set>

using namespace txova::kafka;

namespace home_catalog {
struct chore_done {
  static constexpr event_info info{"task.completed", "1.0", "home.tasks.v1", "task_id"};
  std::string task_id;
};
BOOST_DESCRIBE_STRUCT(chore_done, (), (task_id))
}  // namespace home_catalog
using home_catalog::chore_done;

namespace {
envelope with_payload(std::string type, std::string payload) {
  envelope e = make_envelope(type, "1.0", std::move(payload), {.source = "test"});
  return e;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(catalog_topics)

BOOST_AUTO_TEST_CASE(txova_catalog_has_all_28_events_with_valid_metadata) {
  const auto& entries = txova_catalog().entries();
  BOOST_TEST(entries.size() == 28u);
  BOOST_TEST(boost::mp11::mp_size<events::all>::value == 28u);
  std::set<std::string_view> types;
  for (const auto& e : entries) {
    types.insert(e.type);
    BOOST_TEST(!validate(with_payload(std::string(e.type), "{}")), e.type);
    BOOST_TEST(major_version(e.version).has_value(), e.type);
    BOOST_TEST(!e.key.empty(), e.type);
    BOOST_TEST(std::find(std::begin(topics::all), std::end(topics::all), e.topic) != std::end(topics::all), e.type);
  }
  BOOST_TEST(types.size() == 28u);
}

BOOST_AUTO_TEST_CASE(every_key_field_is_a_member_of_its_payload) {
  boost::mp11::mp_for_each<boost::mp11::mp_transform<boost::mp11::mp_identity, events::all>>([](auto t) {
    using T = typename decltype(t)::type;
    std::set<std::string_view> names;
    boost::mp11::mp_for_each<boost::describe::describe_members<T, boost::describe::mod_public>>(
        [&](auto d) { names.insert(d.name); });
    BOOST_TEST(names.count(T::info.key) + names.count(T::info.fallback_key) >= 1u, T::info.type);
  });
}

BOOST_AUTO_TEST_CASE(topics_follow_the_domain_rules) {
  BOOST_TEST(topic_for("user.registered").value() == "txova.users.v1");
  BOOST_TEST(topic_for("driver.approved").value() == "txova.drivers.v1");
  BOOST_TEST(topic_for("driver.location_updated").value() == "txova.locations.v1");
  BOOST_TEST(topic_for("ride.completed").value() == "txova.rides.v1");
  BOOST_TEST(topic_for("payment.refunded").value() == "txova.payments.v1");
  BOOST_TEST(topic_for("payout.requested").value() == "txova.payments.v1");
  BOOST_TEST(topic_for("safety.trip_shared").value() == "txova.safety.v1");
  BOOST_TEST(!topic_for("ride.teleported").has_value());
  BOOST_TEST(dlq_topic("txova.rides.v1") == "txova.rides.v1.dlq");
  BOOST_TEST(topics::retention.count() == 168);
  BOOST_TEST(topics::replication_factor == 3);
}

BOOST_AUTO_TEST_CASE(topic_map_overrides_then_defaults) {
  topic_map m;
  auto unknown = m.resolve("ride.teleported");
  BOOST_TEST_REQUIRE(!unknown.has_value());
  BOOST_TEST(unknown.error().code == error::unknown_event_type);
  BOOST_TEST(unknown.error().message.find("\"ride.teleported\"") != std::string::npos);

  m.route("ride.completed", "audit.rides").default_topic("txova.misc.v1");
  BOOST_TEST(m.resolve("ride.completed").value() == "audit.rides");
  BOOST_TEST(m.resolve("ride.started").value() == "txova.rides.v1");
  BOOST_TEST(m.resolve("ride.teleported").value() == "txova.misc.v1");
}

BOOST_AUTO_TEST_CASE(partition_keys_come_from_the_topic_key_field) {
  BOOST_TEST(partition_key(with_payload("ride.completed", R"({"ride_id":"r-1","x":1})")).value() == "r-1");
  BOOST_TEST(partition_key(with_payload("payout.completed", R"({"payout_id":"po-9"})")).value() == "po-9");
  BOOST_TEST(partition_key(with_payload("payment.completed", R"({"payment_id":"p-3"})")).value() == "p-3");
  BOOST_TEST(partition_key(with_payload("driver.location_updated", R"({"driver_id":"d-2"})")).value() == "d-2");
  // safety: incident_id when present, else ride_id
  BOOST_TEST(partition_key(with_payload("safety.incident_reported", R"({"incident_id":"i-1","ride_id":"r-1"})"))
                 .value() == "i-1");
  BOOST_TEST(partition_key(with_payload("safety.emergency_triggered", R"({"ride_id":"r-5"})")).value() == "r-5");

  auto none = partition_key(with_payload("safety.trip_shared", R"({"shared_with_phone":"+258"})"));
  BOOST_TEST_REQUIRE(!none.has_value());
  BOOST_TEST(none.error().code == error::no_partition_key);
  BOOST_TEST(none.error().message ==
             R"(payload of "safety.trip_shared" has no partition key: payload.incident_id is missing, and so is payload.ride_id)");

  auto wrong = partition_key(with_payload("ride.completed", R"({"ride_id":42})"));
  BOOST_TEST_REQUIRE(!wrong.has_value());
  BOOST_TEST(wrong.error().field == "payload.ride_id");
  BOOST_TEST(wrong.error().message.find("got number 42") != std::string::npos);

  auto unknown = partition_key(with_payload("ride.teleported", "{}"));
  BOOST_TEST_REQUIRE(!unknown.has_value());
  BOOST_TEST(unknown.error().code == error::unknown_event_type);
}

BOOST_AUTO_TEST_CASE(user_catalogs_are_declared_the_same_way) {
  catalog home = catalog::of<chore_done>();
  BOOST_TEST(home.find("task.completed")->topic == "home.tasks.v1");
  BOOST_TEST(home.find("ride.completed") == nullptr);
  BOOST_TEST(topic_map(home).resolve("task.completed").value() == "home.tasks.v1");
  BOOST_TEST(partition_key(with_payload("task.completed", R"({"task_id":"t1"})"), home).value() == "t1");
}

BOOST_AUTO_TEST_SUITE_END()
