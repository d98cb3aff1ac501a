#include <txova/kafka/envelope.hpp>
#include <txova/kafka/events/ride.hpp>
#include <txova/kafka/topics.hpp>

#include <cstdio>

int main() {
  using namespace txova::kafka;
  envelope e = make_envelope(events::ride_started{ids::ride_id("r-1"), now_utc(), {-25.9, 32.5}}, {.source = "downstream"});
  auto back = parse_envelope(to_json(e));
  if (!back || validate(*back) || partition_key(*back).value() != "r-1") return 1;
  std::printf("downstream ok: %s on %s\n", back->type.c_str(), std::string(*topic_for(back->type)).c_str());
  return 0;
}
