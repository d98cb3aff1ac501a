#pragma once
// What the sections of txova-bench share: the sample envelope, clocks, process CPU time, progress
// lines and a measurement that either has a figure or says why it has none. No Asio here.
#include <sys/resource.h>

#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <string>
#include <string_view>

namespace txova::kafka::bench {

using clock_type = std::chrono::steady_clock;

// A ride.completed as the ride service publishes it (481 bytes).
inline constexpr std::string_view sample_envelope =
    R"({"id":"14e76828-c2d0-49ef-a986-74cee7cd1b5a","type":"ride.completed","version":"1.0","source":"ride-service",)"
    R"("timestamp":"2024-01-15T11:01:31Z","correlation_id":"2beb81d0-4724-4b1b-a95d-cb2c997c267a",)"
    R"("causation_id":"53f886a9-3778-4a2c-afc6-95c3edefbec6","actor":{"id":"4b9e2465-23c0-48a5-b5e9-e7d1196ee3a4","type":"user"},)"
    R"("payload":{"ride_id":"ride-7f3a9c2e","end_time":"2024-01-15T11:01:30.123456789Z","distance_km":12,"duration_mins":23,)"
    R"("fare":{"amount":35000,"currency":"MZN"}}})";

inline double seconds_between(clock_type::time_point a, clock_type::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

inline double ms_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

/// User + system CPU of the whole process (librdkafka's threads included), in microseconds.
inline double process_cpu_us() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const auto us = [](const timeval& t) { return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_usec); };
  return us(ru.ru_utime) + us(ru.ru_stime);
}

/// User + system CPU of the calling thread only (the one running the io_context or the raw
/// loop), in microseconds: the process figure minus this is librdkafka's threads.
inline double thread_cpu_us() {
  rusage ru{};
  getrusage(RUSAGE_THREAD, &ru);
  const auto us = [](const timeval& t) { return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_usec); };
  return us(ru.ru_utime) + us(ru.ru_stime);
}

/// A progress line, flushed at once so a pipe or a CI log shows it while the run goes on.
[[gnu::format(printf, 1, 2)]] inline void progress(const char* format, ...) {
  std::va_list args;
  va_start(args, format);
  std::fputs("txova-bench: ", stdout);
  std::vprintf(format, args);
  std::fputc('\n', stdout);
  std::fflush(stdout);
  va_end(args);
}

/// A rate with the process CPU it took, or the reason it could not be measured.
struct measurement {
  double per_second = 0;
  double cpu_us_per_message = 0;
  std::string not_measured;  ///< empty when measured
  double caller_cpu_us_per_message = 0;  ///< of that, the calling thread's (publish runs)

  bool ok() const { return not_measured.empty() && per_second > 0; }
  static measurement failed(std::string why) { return {0, 0, std::move(why), 0}; }
};

/// The better of two runs; a measured one always beats one that was not.
inline measurement best(const measurement& a, const measurement& b) {
  if (a.ok() && (!b.ok() || a.per_second >= b.per_second)) return a;
  if (b.ok()) return b;
  return b.not_measured.empty() ? a : b;  // neither measured: keep a reason
}

/// "123456" or "not measured (why)", for the human-readable tables.
inline std::string rate_text(const measurement& m) {
  if (m.ok()) return std::to_string(static_cast<long long>(m.per_second + 0.5)) + " msg/s";
  return "not measured (" + m.not_measured + ")";
}

}  // namespace txova::kafka::bench
