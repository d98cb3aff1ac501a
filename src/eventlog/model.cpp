// The event log's plain parts: a record as a logged event, and a chain as a causation tree.
#include <txova/kafka/event_log.hpp>

#include <map>

namespace txova::kafka {

logged_event to_logged_event(const consumed_record& r) {
  logged_event e;
  e.topic = std::string(r.topic());
  e.partition = r.partition();
  e.offset = r.offset();
  if (r.has_key()) e.key = std::string(r.key());
  e.headers = r.headers();
  e.broker_time = r.broker_time();
  e.value = std::string(r.value());
  if (r.error()) {
    e.error = "librdkafka could not read the record: " + std::string(r.error_message());
  } else if (r.is_tombstone()) {
    e.error = "a tombstone (null value)";
  } else {
    // Read as a consumer reads it (strict = false), so what a service accepts is indexed.
    auto env = parse_envelope(e.value, envelope_limits{.max_bytes = std::max<std::size_t>(e.value.size(), 1), .max_depth = 64, .strict = false});
    if (env) e.event = std::move(*env);
    else e.error = "not a valid envelope: " + env.error().message;
  }
  return e;
}

std::vector<causation_node> causation_tree(std::vector<logged_event> chain) {
  // Index by id; a node whose cause is in the chain goes under it, the rest are roots.
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < chain.size(); ++i)
    if (chain[i].event) index.emplace(chain[i].event->id, i);
  std::vector<std::vector<std::size_t>> children(chain.size());
  std::vector<std::size_t> roots;
  for (std::size_t i = 0; i < chain.size(); ++i) {
    const auto& ev = chain[i].event;
    auto parent = ev && ev->causation_id ? index.find(*ev->causation_id) : index.end();
    if (parent != index.end() && parent->second != i) children[parent->second].push_back(i);
    else roots.push_back(i);
  }
  // Depth first, at most 256 deep (deeper events become roots of their own); each event is
  // placed once, so a cycle of causation ids (bad data) cannot loop.
  std::vector<bool> placed(chain.size(), false);
  const auto build = [&](auto&& self, std::size_t i, int depth) -> causation_node {
    placed[i] = true;
    causation_node n{std::move(chain[i]), {}};
    if (depth < 256)
      for (std::size_t c : children[i])
        if (!placed[c]) n.children.push_back(self(self, c, depth + 1));
    return n;
  };
  std::vector<causation_node> out;
  for (std::size_t r : roots) out.push_back(build(build, r, 0));
  for (std::size_t i = 0; i < chain.size(); ++i)  // members of a cycle: no root reaches them
    if (!placed[i]) out.push_back(build(build, i, 0));
  return out;
}

}  // namespace txova::kafka
