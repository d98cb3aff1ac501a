// txova: publish, tail, inspect and replay DLQs, ensure topics, check health (docs/cli.md).
#include "cli.hpp"

#include <txova/kafka/log.hpp>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <iostream>

int main(int argc, char** argv) {
  using namespace txova;
  cli::global_options g;
  CLI::App app{"txova: operate txova-kafka topics and DLQs (docs/cli.md)", "txova"};
  app.require_subcommand(1);
  app.fallthrough();
  app.add_option("-b,--brokers", g.brokers, "bootstrap brokers host:port[,host:port] (default: KAFKA_BROKERS)");
  app.add_option("-X", g.properties, "a librdkafka property prop=value for every client (repeatable)")->take_all();
  app.add_option("--timeout", g.timeout_s, "seconds to try to reach the brokers")->check(CLI::Range(1, 3600))->capture_default_str();
  // The library logs to stderr (stdout is the tool's output); warnings and errors unless asked for more.
  kafka::set_logger(spdlog::stderr_color_mt("txova"));
  kafka::logger()->set_level(spdlog::level::warn);
  app.add_flag_function("-v,--verbose", [&g](std::int64_t) {
                          g.verbose = true;
                          kafka::logger()->set_level(spdlog::level::info);
                        },
                        "the library's info log on stderr too");
  app.footer("SASL and TLS come from the same environment variables as the library (KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*, KAFKA_SSL_*).");
  cli::add_publish(app, g);
  cli::add_tail(app, g);
  cli::add_dlq(app, g);
  cli::add_topics(app, g);
  cli::add_health(app, g);
  cli::add_events(app, g);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 reports an unknown command as a missing one: say which word it did not know.
    if (app.get_subcommands().empty() && !app.remaining().empty() && e.get_name() == "RequiredError") {
      std::cerr << "txova: unknown command \"" << app.remaining().front() << "\" (commands: publish, tail, dlq, topics, health, events; see txova --help)\n";
      return 2;
    }
    return app.exit(e);
  } catch (const cli::cli_error& e) {
    std::cerr << "txova: " << e.what() << "\n";
    return e.code;
  } catch (const std::exception& e) {
    std::cerr << "txova: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
