#include <txova/kafka/publish_error.hpp>

namespace txova::kafka {
namespace {
std::string describe_failure(const boost::system::error_code& ec, const delivery& d) {
  std::string s = "publishing event " + (d.event_id.empty() ? std::string("?") : d.event_id);
  if (!d.topic.empty()) s += " to " + d.topic;
  s += " failed: " + ec.message();
  if (!d.error_message.empty() && d.error_message != ec.message()) s += ": " + d.error_message;
  if (!d.dead_letter_topic.empty()) s += " (written to " + d.dead_letter_topic + ")";
  return s;
}
}  // namespace

publish_error::publish_error(boost::system::error_code ec, kafka::delivery d)
    : boost::system::system_error(ec, describe_failure(ec, d)), delivery_(std::move(d)) {}

}  // namespace txova::kafka
