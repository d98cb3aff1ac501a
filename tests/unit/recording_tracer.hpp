#pragma once
// A tracer that keeps every span it ends, for the tracing tests.
#include <txova/kafka/tracing.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace txova::kafka::test {

struct recorded_span {
  std::string name;
  span_kind kind{};
  trace_context context{};
  std::optional<trace_context> parent{};
  std::map<std::string, std::string, std::less<>> attributes{};
  std::string error_type{};
  bool ended = false;
};

class recording_tracer : public tracer {
public:
  std::vector<recorded_span> ended;
  std::optional<trace_context> ambient;  // what current() answers

  std::unique_ptr<span> start_span(std::string_view name, span_kind kind, const std::optional<trace_context>& parent) override {
    auto s = std::make_unique<recording_span>(*this);
    s->data.name = std::string(name);
    s->data.kind = kind;
    s->data.parent = parent;
    s->data.context = parent ? parent->child() : trace_context::new_root();
    s->data.context.parent_span_id = {};  // a real span, not a reserved id
    return s;
  }
  std::optional<trace_context> current() const override { return ambient; }

private:
  struct recording_span : span {
    explicit recording_span(recording_tracer& t) : owner(&t) {}
    recording_tracer* owner;
    recorded_span data;
    trace_context context() const override { return data.context; }
    void set_attribute(std::string_view n, std::string_view v) override { data.attributes[std::string(n)] = std::string(v); }
    void set_attribute(std::string_view n, std::int64_t v) override { data.attributes[std::string(n)] = std::to_string(v); }
    void set_error(std::string_view type, std::string_view) override { data.error_type = std::string(type); }
    void end() override {
      data.ended = true;
      owner->ended.push_back(data);
    }
  };
};

}  // namespace txova::kafka::test
