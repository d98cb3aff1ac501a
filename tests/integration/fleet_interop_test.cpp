// Joining a fleet of Go services, on the real broker (suite fleet_interop, label interop): the Go
// side is tests/interop/fleet (IBM/sarama, twmb/franz-go, encoding/json), built once by the
// interop.fleet_build fixture and found through TXOVA_FLEET.
#include "plain_client.hpp"

#include <txova/kafka/consumer.hpp>
#include <txova/kafka/detail/base64.hpp>
#include <txova/kafka/detail/json_text.hpp>
#include <txova/kafka/events/all.hpp>
#include <txova/kafka/producer.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/mp11/algorithm.hpp>
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "../unit/test_support.hpp"

namespace asio = boost::asio;
using namespace txova::kafka;
using namespace std::chrono_literals;
using boost::system::error_code;
using txova::kafka::test::run_until;
using test::real_brokers;

namespace {

std::string fleet() {
  const char* f = std::getenv("TXOVA_FLEET");
  BOOST_TEST_REQUIRE((f && *f), "TXOVA_FLEET is not set: run through ctest (the interop.fleet_build fixture)");
  return f;
}

std::filesystem::path scratch(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("txova-fleet-" + new_uuid().substr(0, 8));
  std::filesystem::create_directories(dir);
  return dir / name;
}

// Runs the Go fleet program; the test stops when it fails.
void run_fleet(const std::string& args) {
  const std::string cmd = fleet() + " " + args;
  BOOST_TEST_MESSAGE("running " << cmd);
  const int rc = std::system(cmd.c_str());
  BOOST_TEST_REQUIRE(rc == 0, "fleet failed (" << rc << "): " << cmd);
}

std::vector<std::string> read_lines(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

// At least 10 000 keys of every shape a fleet sends.
std::vector<std::string> fleet_keys() {
  std::vector<std::string> keys;
  for (int i = 0; i < 5000; ++i) keys.push_back("ride-" + std::to_string(i));
  for (int i = 0; i < 1000; ++i) keys.push_back(new_uuid());
  for (int i = 0; i < 1500; ++i) keys.push_back("Mãe-ção-Маputo-東京-" + std::to_string(i));
  for (int i = 0; i < 1500; ++i) keys.push_back("\xF0\x9F\x9A\x95" + std::to_string(i) + "\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD");
  for (int b = 0; b < 256; ++b) keys.push_back(std::string(1, static_cast<char>(b)));  // every 1-byte key
  std::mt19937 rng(7);
  for (int i = 0; i < 800; ++i) {
    std::string k(1024, '\0');
    for (char& c : k) c = static_cast<char>(rng());
    keys.push_back(std::move(k));
  }
  return keys;
}

// Where our producer puts every key, for each topic: publishes them all and reads the acks.
std::map<std::string, std::vector<std::int32_t>> our_partitions(key_partitioner partitioner, const std::vector<std::string>& keys,
                                                                const std::vector<std::string>& topics) {
  asio::io_context ioc;
  producer_config cfg;
  cfg.brokers = real_brokers();
  cfg.partitioner = partitioner;
  cfg.linger = 10ms;
  producer p(ioc.get_executor(), cfg);
  std::map<std::string, std::vector<std::int32_t>> out;
  std::size_t done = 0, failed = 0;
  for (const auto& t : topics) {
    auto& parts = out[t];
    parts.assign(keys.size(), -2);
    for (std::size_t i = 0; i < keys.size(); ++i)
      p.async_send(producer_record{t, keys[i], std::string("x"), {}, {}}, [&, i](error_code ec, delivery d) {
        parts[i] = ec ? -1 : d.partition;
        failed += ec.failed();
        ++done;
      });
  }
  run_until(ioc, [&] { return done == keys.size() * topics.size(); }, 300s);
  BOOST_TEST_REQUIRE(done == keys.size() * topics.size());
  BOOST_TEST_REQUIRE(failed == 0u);
  return out;
}

std::string topic_map_json(const std::map<std::string, std::string>& m) {
  boost::json::object o;
  for (const auto& [k, v] : m) o[k] = v;
  return boost::json::serialize(o);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(fleet_interop, *boost::unit_test::timeout(900))

BOOST_AUTO_TEST_CASE(every_key_goes_to_the_partition_sarama_and_java_clients_pick) {
  const auto keys = fleet_keys();
  BOOST_TEST_REQUIRE(keys.size() >= 10000u);
  const auto keys_file = scratch("keys.txt");
  {
    std::ofstream out(keys_file);
    for (const auto& k : keys) out << detail::base64(k) << '\n';
  }
  for (auto [hasher, partitioner] : {std::pair{"sarama", key_partitioner::sarama}, std::pair{"murmur2", key_partitioner::java}}) {
    const auto theirs_file = scratch(std::string(hasher) + ".txt");
    run_fleet("partitions -keys " + keys_file.string() + " -partitions 1,7,12 -hasher " + hasher + " -out " + theirs_file.string());
    const auto lines = read_lines(theirs_file);
    BOOST_TEST_REQUIRE(lines.size() == keys.size());
    const std::string prefix = test::unique_topic(hasher);
    const std::vector<std::string> topics{prefix + "-1", prefix + "-7", prefix + "-12"};
    test::create_topics({{topics[0], 1}, {topics[1], 7}, {topics[2], 12}});
    auto ours = our_partitions(partitioner, keys, topics);
    std::size_t same = 0, total = 0;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      std::istringstream fields(lines[i]);
      std::string b64;
      int p1 = -1, p7 = -1, p12 = -1;
      fields >> b64 >> p1 >> p7 >> p12;
      BOOST_TEST_REQUIRE(b64 == detail::base64(keys[i]), "the Go program kept the order of the keys");
      const int theirs[3] = {p1, p7, p12};
      for (int t = 0; t < 3; ++t) {
        ++total;
        if (ours[topics[t]][i] == theirs[t]) ++same;
        else if (total - same <= 5)
          BOOST_TEST_MESSAGE(hasher << ": key #" << i << " on " << topics[t] << ": ours " << ours[topics[t]][i] << ", theirs " << theirs[t]);
      }
    }
    BOOST_TEST_MESSAGE(hasher << ": " << same << " of " << total << " (key, partition count) pairs agree");
    BOOST_TEST(same == total, hasher << ": " << total - same << " keys went elsewhere");
  }
}

BOOST_AUTO_TEST_CASE(events_a_go_service_publishes_are_handled_by_typed_routes) {
  const std::string prefix = test::unique_topic("go");
  // One topic per catalog topic, with the domains the Go program needs named too.
  std::map<std::string, std::string> topic_of;  // catalog topic -> ours
  std::map<std::string, std::string> map;       // domain or exact type -> ours
  for (const auto& e : txova_catalog().entries()) {
    auto& t = topic_of[std::string(e.topic)];
    if (t.empty()) t = prefix + "-" + std::string(e.topic);
    map[std::string(e.type)] = t;
    map.emplace(std::string(e.type.substr(0, e.type.find('.'))), t);
  }
  std::vector<std::pair<std::string, int>> create;
  std::vector<std::string> subscribe;
  for (const auto& [catalog_topic, t] : topic_of) {
    create.emplace_back(t, 3);
    subscribe.push_back(t);
  }
  test::create_topics(create);
  const auto map_file = scratch("topics.json");
  std::ofstream(map_file) << topic_map_json(map);
  const auto manifest = scratch("manifest.jsonl");
  run_fleet("publish -brokers " + real_brokers() + " -topic-map " + map_file.string() +
            " -per-type 10 -actor-types user,system,admin,rider -manifest " + manifest.string());
  std::map<std::string, std::string> expected;  // id -> payload as Go encoded it
  for (const auto& line : read_lines(manifest)) {
    const auto o = boost::json::parse(line).as_object();
    expected[std::string(o.at("id").as_string())] = std::string(detail::raw_member(line, "payload"));
  }
  BOOST_TEST_REQUIRE(expected.size() == txova_catalog().entries().size() * 10);

  asio::io_context ioc;
  consumer_config cfg;
  cfg.brokers = real_brokers();
  cfg.group_id = prefix;
  cfg.topics = subscribe;
  consumer c(ioc.get_executor(), cfg);
  std::map<std::string, std::string> ours;  // id -> the typed payload, written back
  boost::mp11::mp_for_each<boost::mp11::mp_transform<boost::mp11::mp_identity, events::all>>([&](auto t) {
    using event_t = typename decltype(t)::type;
    c.routes().template on<event_t>([&](const event_t& ev, message_context& m) -> asio::awaitable<void> {
      ours[m.event_id()] = to_json_text(ev);
      co_return;
    });
  });
  std::optional<error_code> ran;
  c.async_run([&](error_code ec) { ran = ec; });
  run_until(ioc, [&] { return c.stats().handled + c.stats().dead_lettered >= expected.size(); }, 180s);
  c.stop();
  run_until(ioc, [&] { return ran.has_value(); }, 60s);
  BOOST_TEST(c.stats().dead_lettered == 0u, "nothing of a Go service's goes to the DLQ");
  BOOST_TEST(c.stats().handled == expected.size());
  BOOST_TEST(c.stats().unknown_actor_types > 0u, "actor.type \"rider\" was accepted");
  std::size_t equal = 0;
  for (const auto& [id, theirs] : expected) {
    auto it = ours.find(id);
    if (it == ours.end()) continue;
    if (boost::json::parse(it->second) == boost::json::parse(theirs)) ++equal;
    else BOOST_TEST(it->second == theirs, "payload of " << id << " differs");
  }
  BOOST_TEST(equal == expected.size(), "every payload value equal, field by field");
}

BOOST_AUTO_TEST_CASE(a_go_consumer_group_decodes_every_event_we_publish) {
  const std::string prefix = test::unique_topic("cpp");
  topic_map routes(txova_catalog());
  std::map<std::string, std::string> topic_of;
  for (const auto& e : txova_catalog().entries()) {
    auto& t = topic_of[std::string(e.topic)];
    if (t.empty()) t = prefix + "-" + std::string(e.topic);
    routes.route(e.type, t);
  }
  std::vector<std::pair<std::string, int>> create;
  std::string topics;
  for (const auto& [catalog_topic, t] : topic_of) {
    create.emplace_back(t, 3);
    topics += (topics.empty() ? "" : ",") + t;
  }
  test::create_topics(create);
  asio::io_context ioc;
  producer_config cfg;
  cfg.brokers = real_brokers();
  cfg.routes = routes;
  producer p(ioc.get_executor(), cfg);
  std::size_t acked = 0, sent = 0;
  for (int copy = 0; copy < 3; ++copy)
    for (const auto& text : test::golden_envelope_texts()) {
      envelope e = parse_envelope(text).value();
      e.id = new_uuid();
      ++sent;
      p.async_publish(e, [&](error_code ec, delivery) { acked += !ec; });
    }
  run_until(ioc, [&] { return acked == sent; }, 60s);
  BOOST_TEST_REQUIRE(acked == sent);
  const auto out = scratch("consumed.jsonl");
  run_fleet("consume -brokers " + real_brokers() + " -topics " + topics + " -group " + prefix + " -count " +
            std::to_string(sent) + " -timeout 90s -out " + out.string());
  std::size_t ok = 0, with_headers = 0;
  for (const auto& line : read_lines(out)) {
    const auto o = boost::json::parse(line).as_object();
    ok += o.at("ok").as_bool();
    const auto& h = o.at("headers").as_object();
    with_headers += h.contains("event-id") && h.contains("event-type") && h.contains("correlation-id") &&
                    h.contains("schema-version") && h.contains("source") && h.contains("timestamp");
  }
  BOOST_TEST(ok == sent, "decoded strictly into the Go structs");
  BOOST_TEST(with_headers == sent, "and our headers read by sarama");
}

BOOST_AUTO_TEST_CASE(cloudevents_in_both_modes_reach_typed_routes) {
  for (wire_format format : {wire_format::cloudevents_binary, wire_format::cloudevents_structured}) {
    const std::string topic = test::unique_topic(format == wire_format::cloudevents_binary ? "ce-bin" : "ce-struct");
    test::create_topics({{topic, 1}, {dlq_topic(topic), 1}});
    asio::io_context ioc;
    producer_config pc;
    pc.brokers = real_brokers();
    pc.format = format;
    producer p(ioc.get_executor(), pc);
    std::size_t acked = 0, sent = 0;
    for (const auto& text : test::golden_envelope_texts()) {
      ++sent;
      p.async_publish(parse_envelope(text).value(), publish_options{.topic = topic}, [&](error_code ec, delivery) { acked += !ec; });
    }
    run_until(ioc, [&] { return acked == sent; }, 60s);
    BOOST_TEST_REQUIRE(acked == sent);
    auto raw = test::consume({{"bootstrap.servers", real_brokers()}}, topic, 1, 1, 20s);
    BOOST_TEST_REQUIRE(raw.size() == 1u);
    if (format == wire_format::cloudevents_binary) BOOST_TEST(test::header(raw[0], "ce_specversion") == "1.0");
    else BOOST_TEST(test::header(raw[0], "content-type").starts_with("application/cloudevents+json"));

    consumer_config cc;
    cc.brokers = real_brokers();
    cc.group_id = topic;
    cc.topics = {topic};
    consumer c(ioc.get_executor(), cc);
    std::size_t typed = 0;
    c.routes().on<events::ride_completed>([&](const events::ride_completed& r, message_context&) -> asio::awaitable<void> {
      typed += r.fare.currency == "MZN";
      co_return;
    });
    c.routes().fallback([](const envelope&, message_context&) -> asio::awaitable<void> { co_return; });
    std::optional<error_code> ran;
    c.async_run([&](error_code ec) { ran = ec; });
    run_until(ioc, [&] { return c.stats().handled + c.stats().dead_lettered >= sent; }, 90s);
    c.stop();
    run_until(ioc, [&] { return ran.has_value(); }, 60s);
    BOOST_TEST(c.stats().handled == sent);
    BOOST_TEST(c.stats().dead_lettered == 0u);
    BOOST_TEST(typed == 1u);
  }
}

BOOST_AUTO_TEST_SUITE_END()
