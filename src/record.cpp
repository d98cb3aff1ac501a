#include <txova/kafka/record.hpp>

namespace txova::kafka {
namespace {

// record_data as a record's storage.
const detail::record_storage owned_storage{
    [](void* s) noexcept { delete static_cast<record_data*>(s); },
    [](const void* s, std::vector<std::pair<std::string, std::string>>& out) {
      for (const auto& h : static_cast<const record_data*>(s)->headers) out.push_back(h);
    },
    [](const void* s, std::string_view name) -> std::optional<std::string_view> {
      for (const auto& [k, v] : static_cast<const record_data*>(s)->headers)
        if (k == name) return std::string_view(v);
      return std::nullopt;
    },
};

}  // namespace

consumed_record::consumed_record(record_data data) {
  auto* d = new record_data(std::move(data));
  storage_ = d;
  ops_ = &owned_storage;
  f_.topic = d->topic;
  f_.partition = d->partition;
  f_.offset = d->offset;
  f_.has_key = d->key.has_value();
  if (d->key) f_.key = *d->key;
  f_.has_value = d->value.has_value();
  if (d->value) f_.value = *d->value;
  f_.timestamp_ms = std::chrono::duration_cast<std::chrono::milliseconds>(d->broker_time.time_since_epoch()).count();
}

consumed_record::consumed_record(void* storage, const detail::record_storage& ops, const detail::record_fields& fields,
                                 std::shared_ptr<void> owner) noexcept
    : owner_(std::move(owner)), storage_(storage), ops_(&ops), f_(fields) {}

consumed_record::consumed_record(consumed_record&& o) noexcept
    : owner_(std::move(o.owner_)), storage_(std::exchange(o.storage_, nullptr)), ops_(std::exchange(o.ops_, nullptr)),
      f_(std::exchange(o.f_, {})) {}

consumed_record& consumed_record::operator=(consumed_record&& o) noexcept {
  if (this != &o) {
    reset();
    storage_ = std::exchange(o.storage_, nullptr);
    ops_ = std::exchange(o.ops_, nullptr);
    f_ = std::exchange(o.f_, {});
    owner_ = std::move(o.owner_);
  }
  return *this;
}

consumed_record::~consumed_record() { reset(); }

void consumed_record::reset() noexcept {
  if (storage_) ops_->destroy(storage_);  // before the owner: librdkafka messages go before their client
  storage_ = nullptr;
  ops_ = nullptr;
  owner_.reset();
}

std::vector<std::pair<std::string, std::string>> consumed_record::headers() const {
  std::vector<std::pair<std::string, std::string>> out;
  if (storage_) ops_->headers(storage_, out);
  return out;
}

std::optional<std::string> consumed_record::header(std::string_view name) const {
  if (auto v = header_view(name)) return std::string(*v);
  return std::nullopt;
}

std::optional<std::string_view> consumed_record::header_view(std::string_view name) const {
  if (!storage_) return std::nullopt;
  return ops_->header(storage_, name);
}

timestamp consumed_record::broker_time() const noexcept {
  if (f_.timestamp_ms < 0) return {};
  return timestamp(std::chrono::milliseconds(f_.timestamp_ms));
}

}  // namespace txova::kafka
