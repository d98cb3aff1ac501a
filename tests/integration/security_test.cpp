// Security against the real broker (suite security_real): SCRAM-SHA-256 and -512 over TLS for the
// producer, the consumer and the admin client, configured from the environment; a wrong password,
// a wrong CA and a plaintext client on the TLS port fail within a bounded time with an error that
// says why; and no secret reaches the logs, describe(), exceptions or dead letters.
#include "plain_client.hpp"

#include <txova/kafka/consumer.hpp>
#include <txova/kafka/events/all.hpp>
#include <txova/kafka/handler_error.hpp>
#include <txova/kafka/log.hpp>
#include <txova/kafka/producer.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/test/unit_test.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <mutex>
#include <sstream>

#include "../unit/test_support.hpp"

namespace asio = boost::asio;
using namespace txova::kafka;
using namespace std::chrono_literals;
using boost::system::error_code;

namespace {

std::string env_or_fail(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) BOOST_FAIL(std::string(name) + " is not set: run under the kafka_broker fixture (scripts/kafka-broker start)");
  return v;
}

const std::string wrong_password = "wrong-pw-5d1c8e-never-printed";

// The environment a service would have, for SASL_SSL with `mechanism`.
std::map<std::string, std::string> service_env(const std::string& mechanism, const std::string& password) {
  return {{"KAFKA_BROKERS", env_or_fail("TXOVA_KAFKA_SASL_SSL_BROKERS")},
          {"KAFKA_SECURITY_PROTOCOL", "SASL_SSL"},
          {"KAFKA_SASL_MECHANISM", mechanism},
          {"KAFKA_SASL_USERNAME", env_or_fail("TXOVA_KAFKA_SASL_USER")},
          {"KAFKA_SASL_PASSWORD", password},
          {"KAFKA_SSL_CA_LOCATION", env_or_fail("TXOVA_KAFKA_SSL_CA")},
          {"KAFKA_GROUP_ID", test::unique_topic("security-group")}};
}

events::ride_completed ride(std::string id) {
  return events::ride_completed{ids::ride_id(std::move(id)), now_utc(), 12.5, 23, money::minor(35000, "MZN")};
}

// Every log line of the library and of librdkafka while it lives.
class captured_logs {
public:
  captured_logs() {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    auto l = std::make_shared<spdlog::logger>("security-test", sink);
    l->set_level(spdlog::level::trace);
    set_logger(l);
  }
  ~captured_logs() { set_logger(nullptr); }
  std::string text() {
    spdlog::default_logger()->flush();
    return out_.str();
  }

private:
  std::ostringstream out_;
};

// Publishes one event and returns what came back, and how long it took.
struct publish_outcome {
  error_code ec;
  delivery d;
  std::chrono::milliseconds took{};
};
publish_outcome publish_one(asio::io_context& ioc, producer& p, const std::string& ride_id) {
  publish_outcome out;
  bool done = false;
  const auto start = std::chrono::steady_clock::now();
  auto e = make_envelope(ride(ride_id), event_context{.source = "security-test"});
  p.async_publish(e, [&](error_code ec, delivery d) {
    out.ec = ec;
    out.d = std::move(d);
    done = true;
  });
  test::run_until(ioc, [&] { return done; }, 120s);
  BOOST_TEST_REQUIRE(done, "the publish completed");
  out.took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  return out;
}

void create_topic(asio::io_context& ioc, const admin_config& cfg, const std::string& topic) {
  admin a(ioc.get_executor(), cfg);
  std::optional<error_code> result;
  std::vector<topic_outcome> outcomes;
  a.async_create_topics({topic_spec{topic, 3, 1, std::nullopt, {}}, topic_spec{topic + ".dlq", 1, 1, std::nullopt, {}}},
                        [&](error_code ec, std::vector<topic_outcome> o) {
                          result = ec;
                          outcomes = std::move(o);
                        });
  test::run_until(ioc, [&] { return result.has_value(); }, 60s);
  BOOST_TEST_REQUIRE(result.has_value());
  BOOST_TEST_REQUIRE(!*result, result->message());
  for (const auto& o : outcomes) BOOST_TEST_REQUIRE(!o.ec, o.message);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(security_real, *boost::unit_test::timeout(600))

BOOST_AUTO_TEST_CASE(scram_256_and_512_over_tls_publish_consume_and_administer_from_the_environment) {
  for (const std::string mechanism : {"SCRAM-SHA-256", "SCRAM-SHA-512"}) {
    BOOST_TEST_CONTEXT(mechanism) {
      asio::io_context ioc;
      const auto env = service_env(mechanism, env_or_fail("TXOVA_KAFKA_SASL_PASSWORD"));
      auto ac = admin_config::from_env(env);
      auto pc = producer_config::from_env(env);
      auto cc = consumer_config::from_env(env);
      BOOST_TEST_REQUIRE(ac.has_value());
      BOOST_TEST_REQUIRE(pc.has_value());
      BOOST_TEST_REQUIRE(cc.has_value());
      const std::string topic = test::unique_topic("security-rides");
      create_topic(ioc, *ac, topic);

      pc->routes = topic_map().route("ride.completed", topic);
      pc->linger = 1ms;
      producer p(ioc.get_executor(), *pc);
      for (int i = 0; i < 10; ++i) {
        auto r = publish_one(ioc, p, "ride-" + std::to_string(i));
        BOOST_TEST_REQUIRE(!r.ec, r.d.error_message);
      }

      cc->topics = {topic};
      cc->commit_interval = 100ms;
      consumer c(ioc.get_executor(), *cc);
      int handled = 0;
      c.routes().on<events::ride_completed>([&](const events::ride_completed&, message_context&) -> asio::awaitable<void> {
        if (++handled == 10) c.stop();
        co_return;
      });
      std::optional<error_code> ran;
      c.async_run([&](error_code ec) { ran = ec; });
      test::run_until(ioc, [&] { return ran.has_value(); }, 90s);
      BOOST_TEST_REQUIRE(ran.has_value(), "the consumer handled all 10 and stopped");
      BOOST_TEST(!*ran, ran->message() + ": " + c.failure().message);
      BOOST_TEST(handled == 10);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_wrong_password_fails_fast_naming_mechanism_and_user_for_producer_consumer_and_admin) {
  asio::io_context ioc;
  const auto env = service_env("SCRAM-SHA-512", wrong_password);
  const std::string user = env.at("KAFKA_SASL_USERNAME");
  auto pc = producer_config::from_env(env);
  BOOST_TEST_REQUIRE(pc.has_value());
  pc->delivery_timeout = 300s;  // a timeout is not what should end it
  producer p(ioc.get_executor(), *pc);
  auto r = publish_one(ioc, p, "ride-1");
  BOOST_TEST((r.ec == make_error_code(error::authentication_failed)), r.ec.message() + ": " + r.d.error_message);
  BOOST_TEST(r.d.error_message.find("SCRAM-SHA-512") != std::string::npos, r.d.error_message);
  BOOST_TEST(r.d.error_message.find("\"" + user + "\"") != std::string::npos, r.d.error_message);
  BOOST_TEST(r.d.error_message.find(wrong_password) == std::string::npos);
  BOOST_TEST(r.took < 60s, "failed after " << r.took.count() << " ms, not at the 300 s delivery timeout");
  // At once while the refusal is fresh, not another wait.
  auto again = publish_one(ioc, p, "ride-2");
  BOOST_TEST((again.ec == make_error_code(error::authentication_failed)));

  auto cc = consumer_config::from_env(env);
  BOOST_TEST_REQUIRE(cc.has_value());
  cc->topics = {"txova.rides.v1"};
  consumer c(ioc.get_executor(), *cc);
  std::optional<error_code> ran;
  c.async_run([&](error_code ec) { ran = ec; });
  test::run_until(ioc, [&] { return ran.has_value(); }, 90s);
  BOOST_TEST_REQUIRE(ran.has_value(), "the consumer stopped instead of retrying in silence");
  BOOST_TEST((*ran == make_error_code(error::authentication_failed)), ran->message());
  BOOST_TEST(c.failure().message.find("\"" + user + "\"") != std::string::npos, c.failure().message);

  auto ac = admin_config::from_env(env);
  BOOST_TEST_REQUIRE(ac.has_value());
  ac->request_timeout = 300s;
  admin a(ioc.get_executor(), *ac);
  std::optional<error_code> created;
  std::vector<topic_outcome> outcomes;
  a.async_create_topics({topic_spec{test::unique_topic("never"), 1, 1, std::nullopt, {}}}, [&](error_code ec, std::vector<topic_outcome> o) {
    created = ec;
    outcomes = std::move(o);
  });
  test::run_until(ioc, [&] { return created.has_value(); }, 90s);
  BOOST_TEST_REQUIRE(created.has_value());
  BOOST_TEST((*created == make_error_code(error::authentication_failed)), created->message());
  BOOST_TEST_REQUIRE(outcomes.size() == 1u);
  BOOST_TEST(outcomes[0].message.find("SCRAM-SHA-512") != std::string::npos, outcomes[0].message);
}

BOOST_AUTO_TEST_CASE(a_wrong_ca_fails_with_the_tls_reason) {
  asio::io_context ioc;
  auto env = service_env("SCRAM-SHA-256", env_or_fail("TXOVA_KAFKA_SASL_PASSWORD"));
  env["KAFKA_SSL_CA_LOCATION"] = std::string(TXOVA_TEST_DATA_DIR) + "/tls/other-ca.pem";
  auto pc = producer_config::from_env(env);
  BOOST_TEST_REQUIRE(pc.has_value());
  pc->delivery_timeout = 300s;
  producer p(ioc.get_executor(), *pc);
  auto r = publish_one(ioc, p, "ride-1");
  BOOST_TEST((r.ec == make_error_code(error::tls_failed)), r.ec.message() + ": " + r.d.error_message);
  BOOST_TEST(r.d.error_message.find("certificate verify failed") != std::string::npos, r.d.error_message);
  BOOST_TEST(r.d.error_message.find("other-ca.pem") != std::string::npos, r.d.error_message);
  BOOST_TEST(r.took < 60s, "failed after " << r.took.count() << " ms");
}

BOOST_AUTO_TEST_CASE(a_plaintext_client_on_the_tls_port_fails_clearly) {
  asio::io_context ioc;
  producer_config pc;
  pc.brokers = env_or_fail("TXOVA_KAFKA_SSL_BROKERS");
  pc.delivery_timeout = 300s;
  producer p(ioc.get_executor(), pc);
  auto r = publish_one(ioc, p, "ride-1");
  BOOST_TEST((r.ec == make_error_code(error::wrong_security_protocol)), r.ec.message() + ": " + r.d.error_message);
  BOOST_TEST(r.d.error_message.find("security.protocol") != std::string::npos, r.d.error_message);
  BOOST_TEST(r.took < 60s, "failed after " << r.took.count() << " ms");
}

BOOST_AUTO_TEST_CASE(secrets_never_reach_logs_describe_exceptions_or_dead_letters) {
  const std::string password = env_or_fail("TXOVA_KAFKA_SASL_PASSWORD");
  captured_logs logs;
  std::string seen;  // everything printed or handed out besides the logs
  asio::io_context ioc;
  auto env = service_env("SCRAM-SHA-256", password);
  auto pc = producer_config::from_env(env);
  auto cc = consumer_config::from_env(env);
  auto ac = admin_config::from_env(env);
  BOOST_TEST_REQUIRE((pc && cc && ac));
  // librdkafka's own debug output too: connection setup, SASL, configuration.
  pc->properties["debug"] = "security,broker,conf";
  cc->properties["debug"] = "security,broker,conf,cgrp";
  seen += describe(*pc) + describe(*cc) + describe(pc->security);

  const std::string topic = test::unique_topic("security-dlq");
  create_topic(ioc, *ac, topic);
  pc->routes = topic_map().route("ride.completed", topic);
  pc->linger = 1ms;
  {
    producer p(ioc.get_executor(), *pc);
    auto r = publish_one(ioc, p, "ride-poison");
    BOOST_TEST_REQUIRE(!r.ec, r.d.error_message);
  }
  // A handler that refuses the event: its dead letter carries the consumer's view of it.
  cc->topics = {topic};
  cc->commit_interval = 100ms;
  {
    consumer c(ioc.get_executor(), *cc);
    c.routes().on<events::ride_completed>([&](const events::ride_completed&, message_context&) -> asio::awaitable<void> {
      throw permanent_error("refused on purpose");
      co_return;
    });
    std::optional<error_code> ran;
    c.async_run([&](error_code ec) { ran = ec; });
    test::run_until(ioc, [&] { return c.stats().dead_lettered == 1 || ran.has_value(); }, 90s);
    BOOST_TEST_REQUIRE(c.stats().dead_lettered == 1u, c.failure().message);
    c.stop();
    test::run_until(ioc, [&] { return ran.has_value(); }, 60s);
  }
  const auto plain = [&] {
    std::map<std::string, std::string> p;
    pc->security.add_rdkafka_properties(p);
    p["bootstrap.servers"] = env.at("KAFKA_BROKERS");
    return p;
  }();
  for (const auto& r : test::consume(plain, topic + ".dlq", 1, 1, 60s)) {
    seen += r.key + r.value;
    for (const auto& [k, v] : r.headers) seen += k + v;
  }
  BOOST_TEST(seen.find("refused on purpose") != std::string::npos, "the dead letter was read");

  // A wrong password, and a configuration librdkafka refuses, through their messages.
  {
    auto bad = producer_config::from_env(service_env("SCRAM-SHA-256", wrong_password));
    producer p(ioc.get_executor(), *bad);
    auto r = publish_one(ioc, p, "ride-2");
    seen += r.d.error_message + r.ec.message();
  }
  try {
    auto odd = *pc;
    odd.properties["ssl.key.password"] = password;
    odd.properties["ssl.key.location"] = "/nonexistent/client.key";
    producer p(ioc.get_executor(), odd);
  } catch (const std::exception& e) {
    seen += e.what();
  }

  const std::string logged = logs.text();
  BOOST_TEST(logged.find("SASL") != std::string::npos, "the capture saw librdkafka's SASL debug lines");
  BOOST_TEST(logged.find(password) == std::string::npos, "the password is in the logs");
  BOOST_TEST(logged.find(wrong_password) == std::string::npos, "the wrong password is in the logs");
  BOOST_TEST(seen.find(password) == std::string::npos, "the password is in describe(), a message or a dead letter");
  BOOST_TEST(seen.find(wrong_password) == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
