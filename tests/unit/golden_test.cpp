// The golden vectors in tests/data/envelopes/ are the contract with the Go services: one
// envelope per catalog event, as Go's encoding/json writes it (tests/interop/go makes them).
#include <txova/kafka/envelope.hpp>
#include <txova/kafka/events/all.hpp>
#include <txova/kafka/topics.hpp>

#include <boost/mp11/algorithm.hpp>
#include <boost/test/unit_test.hpp>

#include "test_support.hpp"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

using namespace txova::kafka;
namespace fs = std::filesystem;

namespace {
std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Decodes the payload as the catalog type named by the envelope and writes it back.
std::optional<std::string> typed_round_trip(const envelope& e, std::string& error) {
  std::optional<std::string> out;
  boost::mp11::mp_for_each<boost::mp11::mp_transform<boost::mp11::mp_identity, events::all>>([&](auto t) {
    using T = typename decltype(t)::type;
    if (T::info.type != e.type) return;
    auto typed = payload_as<T>(e);
    if (!typed) error = typed.error().message;
    else out = to_json_text(*typed);
  });
  return out;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(golden)

BOOST_AUTO_TEST_CASE(one_vector_per_catalog_event_round_trips_byte_for_byte) {
  const fs::path dir = fs::path(TXOVA_TEST_DATA_DIR) / "envelopes";
  std::set<std::string> seen;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".json") continue;
    BOOST_TEST_CONTEXT(entry.path().filename().string()) {
      const std::string text = read_file(entry.path());
      auto e = parse_envelope(text);
      BOOST_TEST_REQUIRE(e.has_value(), (e ? "" : e.error().message));
      BOOST_TEST(entry.path().stem().string() == e->type);
      BOOST_TEST(!validate(*e), validate(*e).message);
      BOOST_TEST(to_json(*e) == text);

      std::string error;
      auto payload = typed_round_trip(*e, error);
      BOOST_TEST_REQUIRE(payload.has_value(), error);
      BOOST_TEST(*payload == e->payload);

      auto key = partition_key(*e);
      BOOST_TEST(key.has_value(), (key ? "" : key.error().message));
      seen.insert(e->type);
    }
  }
  std::set<std::string> expected;
  for (const auto& info : txova_catalog().entries()) expected.insert(std::string(info.type));
  BOOST_TEST(seen == expected, "every catalog event has exactly one golden vector");
}

BOOST_AUTO_TEST_SUITE_END()
