#include <txova/kafka/config.hpp>

namespace txova::kafka {

producer_config producer_config_for(const consumer_config& c) {
  producer_config p;
  p.brokers = c.brokers;
  p.security = c.security;
  for (const auto& [k, v] : c.properties)
    for (std::string_view prefix : {"security.", "sasl.", "ssl.", "socket.", "broker.", "client.dns"})
      if (std::string_view(k).starts_with(prefix)) {
        p.properties[k] = v;
        break;
      }
  return p;
}

}  // namespace txova::kafka
