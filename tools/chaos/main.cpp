// txova-chaos: the reliability scenarios against real brokers started through scripts/kafka-broker
// (docs/reliability.md).
//
//   txova-chaos [--quick] [--script PATH] [--state-dir DIR] [SCENARIO...]
//     SCENARIO: broker-kill leader-failover consumer-crash rebalance-churn poison backpressure
//               (default: all, in that order)
// Prints one `reliability scenario=...` line per scenario (and a `reliability_detail` line), and
// exits 1 when any scenario's promise was broken, 2 on bad usage.
#include "chaos.hpp"

#include <txova/kafka/log.hpp>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>

#ifndef TXOVA_CHAOS_DEFAULT_SCRIPT
#define TXOVA_CHAOS_DEFAULT_SCRIPT "scripts/kafka-broker"
#endif

namespace {

const char* const usage =
    "usage: txova-chaos [--quick] [--script PATH] [--state-dir DIR] [SCENARIO...]\n"
    "  SCENARIO: broker-kill leader-failover consumer-crash rebalance-churn poison backpressure (default: all)\n"
    "  --quick      reduced counts (what `ctest -L reliability` runs)\n"
    "  --script     scripts/kafka-broker (default: $TXOVA_KAFKA_BROKER_SCRIPT or the source tree's)\n"
    "  --state-dir  where brokers, logs and member files go (default: $TMPDIR/txova-chaos)\n";

const std::vector<std::string> all_scenarios{"broker-kill", "leader-failover", "consumer-crash", "rebalance-churn",
                                             "poison", "backpressure"};

}  // namespace

int main(int argc, char** argv) {
  using namespace chaos;
  if (argc > 1 && std::string(argv[1]) == "member") {
    try {
      return member_main(argc, argv);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "txova-chaos member: %s\n", e.what());
      return 2;
    }
  }
  options o;
  o.self = std::filesystem::read_symlink("/proc/self/exe").string();
  const char* env_script = std::getenv("TXOVA_KAFKA_BROKER_SCRIPT");
  o.script = env_script && *env_script ? env_script : TXOVA_CHAOS_DEFAULT_SCRIPT;
  const char* tmp = std::getenv("TMPDIR");
  o.state_root = std::string(tmp && *tmp ? tmp : "/tmp") + "/txova-chaos";
  std::vector<std::string> chosen;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") o.quick = true;
    else if ((a == "--script" || a == "--state-dir") && i + 1 < argc) (a == "--script" ? o.script : o.state_root) = argv[++i];
    else if (a == "--help" || a == "-h") return std::fputs(usage, stdout), 0;
    else if (std::find(all_scenarios.begin(), all_scenarios.end(), a) != all_scenarios.end()) chosen.push_back(a);
    else return std::fprintf(stderr, "txova-chaos: unknown argument %s\n%s", a.c_str(), usage), 2;
  }
  if (chosen.empty()) chosen = all_scenarios;
  if (!std::filesystem::exists(o.script))
    return std::fprintf(stderr, "txova-chaos: broker script %s not found (give --script)\n", o.script.c_str()), 2;
  std::filesystem::create_directories(o.state_root);
  // The library's log lines (thousands of timed-out publishes in broker-kill) go to a file, so
  // that stderr shows progress and stdout the figures.
  const std::string log_file = o.state_root + "/txova-chaos.log";
  txova::kafka::set_logger(spdlog::basic_logger_mt("txova-chaos", log_file, true));
  progress("library log: %s", log_file.c_str());
  progress("scenarios: %zu, %s counts, state in %s", chosen.size(), o.quick ? "reduced" : "full", o.state_root.c_str());

  // Scenarios 3-6 share one single-node cluster; broker-kill and leader-failover have their own.
  cluster single(o, "single");
  bool single_started = false;
  const auto need_single = [&]() -> cluster& {
    if (!single_started) sync(single.start(1)), single_started = true;
    return single;
  };
  const std::map<std::string, std::function<figures()>> runners{
      {"broker-kill", [&] { return broker_kill(o); }},
      {"leader-failover", [&] { return leader_failover(o); }},
      {"consumer-crash", [&] { return consumer_crash(o, need_single()); }},
      {"rebalance-churn", [&] { return rebalance_churn(o, need_single()); }},
      {"poison", [&] { return poison(o, need_single()); }},
      {"backpressure", [&] { return backpressure(o, need_single()); }},
  };
  int broken = 0;
  for (const auto& name : chosen) {
    progress("scenario %s", name.c_str());
    figures f{.scenario = name};
    try {
      f = runners.at(name)();
    } catch (const std::exception& e) {
      f.expect(false, std::string("error: ") + e.what());
    }
    print(f);
    broken += f.broken.empty() ? 0 : 1;
  }
  // Every cluster a scenario started is stopped, also when the scenario failed half-way.
  for (const char* name : {"broker-kill", "leader-failover", "single"}) {
    if (!std::filesystem::exists(o.state_root + "/" + name)) continue;
    try {
      cluster c(o, name);
      sync(c.stop());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "txova-chaos: %s\n", e.what());
    }
  }
  std::printf("reliability_summary scenarios=%zu broken=%d\n", chosen.size(), broken);
  return broken ? 1 : 0;
}
