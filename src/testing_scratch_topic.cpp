// The test kit's scratch topic (testing/scratch_topic.hpp): the library's admin and producer on an
// io_context of each call's own.
#include <txova/kafka/testing/scratch_topic.hpp>

#include <txova/kafka/admin.hpp>
#include <txova/kafka/envelope.hpp>
#include <txova/kafka/producer.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/throw_exception.hpp>

namespace txova::kafka::testing {

namespace asio = boost::asio;

scratch_topic::scratch_topic(std::string brokers, std::string_view prefix, int partitions)
    : brokers_(std::move(brokers)), name_(std::string(prefix) + "-" + new_uuid().substr(0, 8)), group_(name_ + "-group"),
      partitions_(partitions) {
  asio::io_context ioc;
  admin a(ioc.get_executor(), admin_config{.brokers = brokers_});
  std::vector<topic_spec> specs{topic_spec{name_, partitions, 1, std::chrono::hours(1), {}},
                                topic_spec{dead_letter_topic(), 1, 1, std::chrono::hours(1), {}}};
  auto done = a.async_create_topics(std::move(specs), asio::use_future);
  ioc.run();
  const auto outcomes = done.get();
  for (const auto& o : outcomes)
    if (o.ec)
      boost::throw_exception(diagnostic_error(diagnostic{
          o.ec, "topic", "scratch_topic: could not create topic \"" + o.topic + "\" on " + brokers_ + ": " + o.message}));
}

std::vector<delivery> scratch_topic::produce(std::vector<producer_record> records, std::chrono::milliseconds timeout) const {
  asio::io_context ioc;
  producer_config cfg;
  cfg.brokers = brokers_;
  cfg.client_id = name_ + "-setup";
  cfg.dead_letter = false;
  cfg.linger = std::chrono::milliseconds(5);
  cfg.delivery_timeout = timeout;
  producer p(ioc.get_executor(), cfg);
  std::vector<std::future<delivery>> acks;
  acks.reserve(records.size());
  for (auto& r : records) {
    r.topic = name_;
    acks.push_back(p.async_send(std::move(r), asio::use_future));
  }
  auto closed = p.async_close(timeout, asio::use_future);
  ioc.run();
  std::vector<delivery> out;
  out.reserve(acks.size());
  for (std::size_t i = 0; i < acks.size(); ++i) {
    try {
      out.push_back(acks[i].get());
    } catch (const boost::system::system_error& e) {
      boost::throw_exception(diagnostic_error(
          diagnostic{e.code(), "records", "scratch_topic: record " + std::to_string(i) + " to " + name_ + " failed: " + e.what()}));
    }
  }
  try {
    (void)closed.get();
  } catch (const boost::system::system_error&) {
    // every record was acknowledged above; what close reports beyond that does not matter here
  }
  return out;
}

consumer_config scratch_topic::consumer() const {
  consumer_config c;
  c.brokers = brokers_;
  c.group_id = group_;
  c.topics = {name_};
  c.commit_interval = std::chrono::milliseconds(100);
  c.properties["fetch.wait.max.ms"] = "10";
  return c;
}

}  // namespace txova::kafka::testing
