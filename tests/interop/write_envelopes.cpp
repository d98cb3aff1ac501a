// Writes envelopes made by the C++ library into a directory, for Go's encoding/json to check
// (tests/interop/go -roundtrip decodes and re-encodes each file and demands identical bytes).
// Every golden vector is re-encoded from its typed payload (so the typed codec, not the raw
// payload passthrough, produces the bytes), plus fresh events with text Go escapes specially.
#include <txova/kafka/envelope.hpp>
#include <txova/kafka/events/all.hpp>

#include <boost/mp11/algorithm.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace txova::kafka;
namespace fs = std::filesystem;

namespace {
bool write(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
  return bool(out);
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s GOLDEN_DIR OUT_DIR\n", argv[0]);
    return 2;
  }
  const fs::path golden = argv[1], out = argv[2];
  fs::create_directories(out);
  int written = 0, failed = 0;
  for (const auto& entry : fs::directory_iterator(golden)) {
    if (entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    auto e = parse_envelope(text.str());
    if (!e) {
      std::fprintf(stderr, "%s: %s\n", entry.path().c_str(), e.error().message.c_str());
      ++failed;
      continue;
    }
    bool encoded = false;
    boost::mp11::mp_for_each<boost::mp11::mp_transform<boost::mp11::mp_identity, events::all>>([&](auto t) {
      using T = typename decltype(t)::type;
      if (T::info.type != e->type) return;
      auto typed = payload_as<T>(*e);
      if (!typed) return;
      envelope copy = *e;
      copy.payload = to_json_text(*typed);
      encoded = write(out / ("cpp-" + e->type + ".json"), to_json(copy));
    });
    encoded ? ++written : ++failed;
  }

  // Fresh envelopes: ids, times with nanoseconds, and strings Go escapes in its own way.
  const std::string tricky = "tab\t nl\n <b>&amp;</b> quote\" back\\ M\xc3\xa3" "e \xf0\x9f\x9a\x95 \xe2\x80\xa8 \x01 \x7f";
  events::ride_rated rated{ids::ride_id("ride-" + tricky), 5, "rider", tricky};
  events::user_profile_updated updated{ids::user_id("u-1"), {}};
  events::driver_location_updated moved{ids::driver_id("d-1"), {-25.92716483815024, 32.5}, 0.000001, 1e-7};
  events::payment_failed failed_payment{ids::payment_id("p-1"), "E<42>", tricky};
  const event_context ctx{.source = "interop-" + tricky, .actor = actor{"admin-1", "admin"}};
  const envelope fresh[] = {make_envelope(rated, ctx), make_envelope(updated, ctx), make_envelope(moved, ctx),
                            make_envelope(failed_payment, event_context::caused_by(make_envelope(rated, ctx), "s"))};
  for (const envelope& e : fresh) {
    if (auto d = validate(e)) {
      std::fprintf(stderr, "fresh %s: %s\n", e.type.c_str(), d.message.c_str());
      ++failed;
      continue;
    }
    write(out / ("fresh-" + e.type + ".json"), to_json(e)) ? ++written : ++failed;
  }
  std::printf("wrote %d envelopes to %s, %d failures\n", written, out.c_str(), failed);
  return failed == 0 && written >= 32 ? 0 : 1;
}
