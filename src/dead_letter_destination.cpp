#include <txova/kafka/dead_letter_destination.hpp>

#include <algorithm>

namespace txova::kafka {

bool is_legal_topic_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > 249 || name == "." || name == "..") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  });
}

dead_letter_destination dead_letter_destination::suffix(std::string s) {
  dead_letter_destination d;
  d.text_ = std::move(s);
  return d;
}

dead_letter_destination dead_letter_destination::fixed(std::string topic) {
  dead_letter_destination d;
  d.kind_ = kind::fixed;
  d.text_ = std::move(topic);
  return d;
}

dead_letter_destination dead_letter_destination::by(std::function<std::string(std::string_view)> f) {
  dead_letter_destination d;
  d.kind_ = kind::function;
  d.text_.clear();
  d.fn_ = std::move(f);
  return d;
}

std::string dead_letter_destination::topic_for(std::string_view source_topic) const {
  switch (kind_) {
    case kind::fixed: return text_;
    case kind::function:
      try {
        return fn_ ? fn_(source_topic) : std::string{};
      } catch (...) {
        return {};  // an empty name is illegal: the record is not dead-lettered, and the caller says why
      }
    case kind::suffix: break;
  }
  std::string out(source_topic);
  out += text_;
  return out;
}

diagnostic dead_letter_destination::validate(std::string_view field) const {
  const std::string f(field);
  switch (kind_) {
    case kind::fixed:
      if (!is_legal_topic_name(text_))
        return make_diagnostic(error::invalid_config, f, f + " \"" + text_ + "\" is not a legal Kafka topic name (1 to 249 of a-z A-Z 0-9 . _ -)");
      return {};
    case kind::function:
      if (!fn_) return make_diagnostic(error::invalid_config, f, f + " is a function, but an empty one");
      return {};
    case kind::suffix:
      if (text_.empty() || !is_legal_topic_name(text_) || text_.size() > 200)
        return make_diagnostic(error::invalid_config, f, f + " suffix \"" + text_ + "\" is empty or not made of a-z A-Z 0-9 . _ - (at most 200)");
      return {};
  }
  return {};
}

std::string dead_letter_destination::describe() const {
  switch (kind_) {
    case kind::fixed: return text_;
    case kind::function: return "a function of the topic";
    case kind::suffix: break;
  }
  return "<topic>" + text_;
}

}  // namespace txova::kafka
