#pragma once
// Where dead letters go, a setting of producer and consumer: "<topic>.dlq" by default (a suffix
// per source topic), one topic for every source (the Skeji services' shared
// KAFKA_CONSUMER_DLQ_TOPIC=dlq-domain-services), or a function of the source topic. Every dead
// letter names its source topic (original_topic), so a shared DLQ replays each record to where
// it came from (replay.hpp).
#include <txova/kafka/error.hpp>

#include <functional>
#include <string>
#include <string_view>

namespace txova::kafka {

class dead_letter_destination {
public:
  /// "<topic>.dlq".
  dead_letter_destination() = default;
  /// "<topic>" + `s`.
  static dead_letter_destination suffix(std::string s);
  /// `topic` for every source topic.
  static dead_letter_destination fixed(std::string topic);
  /// What `f` returns for the source topic (called for every dead letter; must not throw).
  static dead_letter_destination by(std::function<std::string(std::string_view source_topic)> f);

  /// The DLQ topic of records from `source_topic`.
  std::string topic_for(std::string_view source_topic) const;
  /// The one topic of a fixed destination, else empty.
  std::string_view fixed_topic() const noexcept { return kind_ == kind::fixed ? std::string_view(text_) : std::string_view{}; }
  /// An empty or illegal suffix or topic, named with its value (`field`: where it is set).
  diagnostic validate(std::string_view field) const;
  /// For logs: "<topic>.dlq", "dlq-domain-services" or "a function of the topic".
  std::string describe() const;

private:
  enum class kind { suffix, fixed, function };
  kind kind_ = kind::suffix;
  std::string text_ = ".dlq";
  std::function<std::string(std::string_view)> fn_{};
};

/// Whether Kafka accepts `name` as a topic: 1 to 249 of [a-zA-Z0-9._-], not "." or "..".
bool is_legal_topic_name(std::string_view name) noexcept;

}  // namespace txova::kafka
