#pragma once
// A producer over the fake ports, set up the way most unit suites want it (consumer_fixture.hpp
// has the consumer's), and reading a sample out of a Prometheus scrape.
#include <txova/kafka/producer.hpp>

#include <boost/asio/io_context.hpp>

#include "fake_ports.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>

namespace txova::kafka::test {

/// A producer that acknowledges every publish (auto_ack), with no retries and no DLQ unless
/// `adjust` says otherwise.
struct fake_producer {
  boost::asio::io_context ioc;
  std::shared_ptr<fake_producer_state> port = std::make_shared<fake_producer_state>();
  std::optional<producer> p;
  explicit fake_producer(const std::function<void(producer_config&)>& adjust = {}) {
    port->ex = ioc.get_executor();
    port->auto_ack = true;
    producer_config c;
    c.brokers = "fake:9092";
    c.retries = 0;
    c.dead_letter = false;
    if (adjust) adjust(c);
    p.emplace(ioc.get_executor(), std::move(c), std::make_unique<fake_producer_port>(port));
  }
};

/// The value of the sample line that starts with `series` (name and labels exactly), or -1.
inline double prometheus_sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  return -1;
}

}  // namespace txova::kafka::test
