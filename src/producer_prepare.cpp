// The first step of the publish path: an envelope (or a raw record) becomes what is sent, in
// the configured wire format, with its key, headers and checks; and the storage publishes reuse
// (prepared publishes, pending-publish nodes). See producer_core.hpp.
#include <algorithm>
#include "producer_core.hpp"

#include <txova/kafka/cloudevents.hpp>
#include <txova/kafka/detail/publish_check.hpp>
#include <txova/kafka/dlq.hpp>
#include <txova/kafka/topics.hpp>
#include <txova/kafka/tracing.hpp>
#include <txova/kafka/detail/envelope_json.hpp>

namespace txova::kafka::detail {

// ---- the pool of prepared publishes -----------------------------------------------------------

void prepared_publish::reset() noexcept {
  value.clear();
  key.clear();
  has_key = true;
  has_value = true;
  partition.reset();
  topic.clear();
  id.clear();
  type.clear();
  version.clear();
  source.clear();
  correlation_id.clear();
  time = {};
  raw = false;
  headers.clear();
  trace.reset();
  observers.reset();
  scopes.clear();
  error = {};
  counted = false;
}

prepared_pool::~prepared_pool() {
  for (prepared_publish* p : free_) delete p;
}

prepared_publish* prepared_pool::take() {
  {
    std::lock_guard lock(m_);
    if (!free_.empty()) {
      prepared_publish* p = free_.back();
      free_.pop_back();
      return p;
    }
  }
  return new prepared_publish;
}

void prepared_pool::give(prepared_publish* p) noexcept {
  p->reset();
  {
    std::lock_guard lock(m_);
    if (free_.size() < max_kept) {
      try {
        free_.push_back(p);
        return;
      } catch (...) {  // no memory for the slot: just free it
      }
    }
  }
  delete p;
}

void prepared_deleter::operator()(prepared_publish* p) const noexcept {
  if (!p) return;
  if (auto home = std::move(p->home)) return home->give(p);
  delete p;
}

prepared_ptr producer_core::take_prepared() {
  prepared_ptr p(prepared_pool_->take());
  p->home = prepared_pool_;
  return p;
}

// ---- the pending-publish nodes, reused ------------------------------------------------------------

void producer_core::publish_op::renew(const publish_policy& policy, bool dlq_allowed) noexcept {
  fsm = publish_fsm(policy, dlq_allowed);
  handler = nullptr;
  detached = false;
  counted_waiting = false;
  in_librdkafka = false;
  waiting_for_room = false;
  timer_pending = false;
  partition_stored = -1;
  offset_stored = -1;
  timestamp_ms = -1;
  first_failure = last_failure = {};
  dead_letter.reset();
}

producer_core::op_ptr producer_core::make_op(publish_handler h, prepared_publish&& p) {
  const bool dlq = cfg_.dead_letter && !p.raw && !p.topic.ends_with(topics::dlq_suffix);
  publish_op* node;
  if (!spare_ops_.empty()) {
    ops_.splice(ops_.end(), spare_ops_, spare_ops_.begin());
    node = &ops_.back();
    node->renew(policy_, dlq);
  } else {
    node = &ops_.emplace_back(policy_, dlq);
  }
  publish_op& op = *node;
  op.self = std::prev(ops_.end());
  // A swap, not a move: the node's old strings, with their capacity, go back to the pool with p.
  swap(static_cast<publish_fields&>(op), static_cast<publish_fields&>(p));
  op.handler.swap(h);  // Boost 1.81: any_completion_handler move-assignment recurses; swap does not
  ++in_flight_;
  return &op;
}

// Done with the op, unless librdkafka still points at it (its delivery report will come back
// here) or a backoff timer's handler is still to run (it will): its node goes to the spare list
// for make_op, or is freed when that list is full.
void producer_core::forget(op_ptr op) {
  if (op->fsm.current() == publish_fsm::state::done || op->fsm.current() == publish_fsm::state::created) uncount_waiting(*op);
  if (op->in_librdkafka || op->timer_pending) return;
  if (op->handler) {  // only for ops dropped unanswered (destroy)
    op->handler = nullptr;
    --in_flight_;
  }
  if (spare_ops_.size() < max_spare_ops) {
    op->dead_letter.reset();  // may be large; the rest is renewed when the node is reused
    spare_ops_.splice(spare_ops_.begin(), ops_, op->self);  // LIFO: make_op reuses the node still in cache
  } else {
    ops_.erase(op->self);
  }
}

// ---- prepare ---------------------------------------------------------------------------------

prepared_ptr producer_core::prepare_one(const envelope& e, const publish_options& opt) {
  prepared_ptr p = take_prepared();
  p->error = prepare(*p, e, opt);
  return p;
}

prepared_ptr producer_core::prepare_raw(producer_record r) {
  prepared_ptr p = take_prepared();
  p->raw = true;
  p->topic = std::move(r.topic);
  p->has_key = r.key.has_value();
  if (r.key) p->key = std::move(*r.key);
  p->has_value = r.value.has_value();
  if (r.value) p->value = std::move(*r.value);
  p->partition = r.partition;
  p->headers = std::move(r.headers);
  keep_one_trace_header(p->headers);  // a record copied from elsewhere (a replay) carries one trace
  for (const auto& [k, v] : p->headers)
    if (k == "event-id") p->id = v;
    else if (k == "correlation-id") p->correlation_id = v;
  const std::size_t size = record_size(producer_record{p->topic, p->key, p->value, p->headers, {}});
  if (p->topic.empty()) p->error = make_diagnostic(error::invalid_field, "topic", "record topic is empty");
  else if (size > cfg_.max_message_bytes)
    p->error = make_diagnostic(error::too_large, "value",
                               "record for topic \"" + p->topic + "\" is " + std::to_string(size) +
                                   " bytes, over max_message_bytes " + std::to_string(cfg_.max_message_bytes));
  return p;
}

prepared_ptr producer_core::prepare_failed(std::string_view type, diagnostic why) {
  prepared_ptr p = take_prepared();
  p->type = std::string(type);
  p->error = std::move(why);
  return p;
}

prepared_ptr producer_core::prepare_checked(const envelope& e, std::string key, const publish_options& opt,
                                            const trace_context* trace) {
  prepared_ptr p = take_prepared();
  p->key = std::move(key);
  p->error = prepare(*p, e, opt, true, trace);
  return p;
}

bool is_envelope_header(std::string_view name) noexcept {
  for (std::string_view own : {"event-id", "event-type", "correlation-id", "schema-version", "source", "timestamp"})
    if (name == own) return true;
  return false;
}

diagnostic producer_core::prepare(publish_fields& f, const envelope& e, const publish_options& opt, bool payload_checked,
                                  const trace_context* trace) {
  if (e.correlation_id.empty()) {  // a new chain: the event's own id (rare, so a copy is fine)
    envelope chained = e;
    chained.correlation_id = e.id;
    return prepare(f, chained, opt, payload_checked, trace);
  }
  // Assignments, not constructions: a reused prepared publish keeps its strings' capacity.
  f.id = e.id;  // for the log line, should validation fail
  f.type = e.type;
  f.correlation_id = e.correlation_id;
  if (opt.partition) f.partition = *opt.partition;
  if (opt.topic) f.topic.assign(*opt.topic);
  else {
    auto t = routes_.resolve_view(e.type);
    if (!t) return t.error();
    f.topic.assign(*t);
  }
  if (payload_checked) {
    if (auto d = check_envelope_fields(e)) return d;
  } else {
    if (opt.key) f.key.assign(*opt.key);
    if (auto d = validate_for_publish(e, *cfg_.event_catalog, opt.key ? nullptr : &f.key)) return d;
  }
  f.value.clear();
  append_envelope_json(f.value, e);
  if (f.value.size() > cfg_.max_message_bytes)
    return make_diagnostic(error::too_large, "",
                           "envelope " + e.id + " of type \"" + e.type + "\" is " + std::to_string(f.value.size()) +
                               " bytes, over max_message_bytes " + std::to_string(cfg_.max_message_bytes));
  f.version = e.version;
  f.source = e.source;
  f.time = e.time;
  if (cfg_.format != wire_format::envelope) {  // the CloudEvents binding instead of the envelope JSON
    auto [h, v] = cfg_.format == wire_format::cloudevents_binary ? cloudevents::to_binary(e) : cloudevents::to_structured(e);
    f.value = std::move(v);
    f.headers.insert(f.headers.end(), std::make_move_iterator(h.begin()), std::make_move_iterator(h.end()));
  }
  for (const auto& [name, value] : opt.headers) {
    if (name.empty()) return make_diagnostic(error::invalid_field, "headers", "a header of envelope " + e.id + " has an empty name");
    if (is_envelope_header(name))
      return make_diagnostic(error::invalid_field, "headers",
                             "header \"" + name + "\" is written from the envelope; publish_options cannot set it");
    set_header(f.headers, name, value);  // replaced, never duplicated
  }
  // The caller's trace, if given (a tracing observer takes the ambient one, on this thread too).
  if (!trace) trace = opt.trace;
  if (trace && trace->valid()) {
    f.trace = *trace;
    set_trace_headers(f.headers, *f.trace);
  }
  return {};
}

}  // namespace txova::kafka::detail
