// Builds an envelope for a few txova events, validates it, prints its JSON, reads it back as a
// typed payload, and shows what the library says about broken input.
#include <txova/kafka/envelope.hpp>
#include <txova/kafka/events/all.hpp>
#include <txova/kafka/topics.hpp>

#include <cstdio>

using namespace txova::kafka;

namespace {
int print(const envelope& e) {
  if (auto d = validate(e)) {
    std::printf("invalid %s: %s\n", e.type.c_str(), d.message.c_str());
    return 1;
  }
  auto key = partition_key(e);
  std::printf("%-24s -> %-20s key=%-14s %s\n", e.type.c_str(), std::string(topic_for(e.type).value_or("?")).c_str(),
              key ? key->c_str() : "?", to_json(e).c_str());
  return 0;
}
}  // namespace

int main() {
  const txova::kafka::location maputo{-25.9692, 32.5732};
  int failures = 0;

  events::ride_requested requested{ids::ride_id("ride-7f3a"), ids::user_id("user-11"), maputo,
                                    {-25.9531, 32.5887}, "standard"};
  envelope first = make_envelope(requested, {.source = "rider-app", .actor = actor{"user-11", "user"}});
  failures += print(first);

  // A follow-up keeps the correlation id and names its cause.
  events::ride_driver_assigned assigned{ids::ride_id("ride-7f3a"), ids::driver_id("drv-3"), ids::vehicle_id("veh-9"), 4};
  failures += print(make_envelope(assigned, event_context::caused_by(first, "dispatch-service")));

  events::ride_completed completed{ids::ride_id("ride-7f3a"), now_utc(), 12.5, 23, money::minor(35000, "MZN")};
  envelope done = make_envelope(completed, event_context::caused_by(first, "ride-service"));
  failures += print(done);

  auto typed = payload_as<events::ride_completed>(*parse_envelope(to_json(done)));
  std::printf("\nride.completed fare read back: %lld %s minor units\n", static_cast<long long>(typed->fare.amount),
              typed->fare.currency.c_str());

  std::printf("\nWhat broken input gets:\n");
  for (const char* bad : {R"({"id":"x"})", R"({"id":"7c9e6679-7425-40de-944b-e07fc1f90ae7","type":"ride.completed",)"
                                           R"("version":"1","source":"s","timestamp":"2024-01-15T10:30:00Z",)"
                                           R"("correlation_id":"c","payload":{}})",
                          "{\"payload\": [1, 2"}) {
    auto r = parse_envelope(bad);
    std::printf("  %s\n", r ? "accepted?!" : r.error().message.c_str());
    failures += r ? 1 : 0;
  }
  auto wrong = from_json_text<events::ride_completed>(R"({"ride_id":"r","end_time":"2024-01-15T10:30:00Z",)"
                                                      R"("distance_km":1,"duration_mins":2,"fare":{"amount":"12"}})");
  std::printf("  %s\n", wrong ? "accepted?!" : wrong.error().message.c_str());
  return failures + (wrong ? 1 : 0);
}
