#pragma once
// The txova command-line tool: shared options, client configs, the record shape of `tail -J`
// and `publish --raw`, and a progress line. Each subcommand lives in its own file and registers
// itself on the CLI11 app.
#include <txova/kafka/admin.hpp>
#include <txova/kafka/config.hpp>
#include <txova/kafka/record.hpp>

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace txova::cli {

/// Options every subcommand takes (before or after its name).
struct global_options {
  std::string brokers{};                 // -b, else KAFKA_BROKERS
  std::vector<std::string> properties{};  // -X prop=value
  int timeout_s = 10;                    // how long to try to reach the brokers
  bool verbose = false;                  // -v: the library's and librdkafka's logs too
};

/// A failure the user caused or can fix: printed as "txova: <message>", exit code `code`.
struct cli_error : std::runtime_error {
  cli_error(std::string message, int code = 1) : std::runtime_error(std::move(message)), code(code) {}
  int code;
};

kafka::consumer_config consumer_config_from(const global_options& g);
kafka::producer_config producer_config_from(const global_options& g);
kafka::admin_config admin_config_from(const global_options& g);
/// What to say when the brokers did not answer: which, and for how long we tried.
std::string unreachable(const global_options& g, const std::string& brokers, const std::string& reason);

/// One record as a JSON line: {"topic","partition","offset","timestamp","key","headers","value"};
/// a key, value or header value that is not UTF-8 is "key_base64" / "value_base64" instead.
std::string record_json(const kafka::consumed_record& r);
/// The inverse of record_json; the diagnostic names the field.
kafka::record_data parse_record_json(std::string_view line, std::size_t line_number);

/// A progress line on stderr, rewritten in place when stderr is a terminal and at most once a
/// second otherwise; `done` prints the last one.
class progress {
public:
  explicit progress(std::string what) : what_(std::move(what)) {}
  void tick(std::uint64_t n, std::uint64_t total = 0);
  void done(std::uint64_t n);

private:
  std::string what_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now(), last_ = started_;  // nothing in the first second
};

void add_publish(CLI::App& app, const global_options& g);
void add_tail(CLI::App& app, const global_options& g);
void add_dlq(CLI::App& app, const global_options& g);
void add_topics(CLI::App& app, const global_options& g);
void add_health(CLI::App& app, const global_options& g);
void add_events(CLI::App& app, const global_options& g);

}  // namespace txova::cli
