#include <txova/kafka/detail/rdkafka_handles.hpp>
#include <txova/kafka/rdkafka_error.hpp>

#include <array>

namespace txova::kafka {
namespace {
class rdkafka_category_impl final : public boost::system::error_category {
public:
  const char* name() const noexcept override { return "rdkafka"; }
  std::string message(int ev) const override { return rd_kafka_err2str(static_cast<rd_kafka_resp_err_t>(ev)); }
};
}  // namespace

const boost::system::error_category& rdkafka_category() noexcept {
  static const rdkafka_category_impl instance;
  return instance;
}

namespace detail {

bool is_secret_property(std::string_view name) noexcept {
  for (std::string_view marker : {"password", "secret", "sasl.jaas.config", "ssl.key.pem", "ssl_key",
                                  "oauthbearer.config", "token"})
    if (name.find(marker) != std::string_view::npos) return true;
  return false;
}

boost::system::result<conf_handle, diagnostic> make_conf(const std::map<std::string, std::string>& properties) {
  conf_handle conf(rd_kafka_conf_new());
  std::array<char, 512> err{};
  for (const auto& [name, value] : properties) {
    if (rd_kafka_conf_set(conf.get(), name.c_str(), value.c_str(), err.data(), err.size()) != RD_KAFKA_CONF_OK) {
      std::string shown = is_secret_property(name) ? "(secret, not shown)" : "\"" + value + "\"";
      return make_diagnostic(error::invalid_config, name,
                             "librdkafka property " + name + " = " + shown + " was refused: " + err.data());
    }
  }
  return conf;
}

boost::system::result<kafka_handle, diagnostic> make_client(rd_kafka_type_t type, conf_handle conf) {
  std::array<char, 512> err{};
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), err.data(), err.size());
  if (!rk)
    return make_diagnostic(error::invalid_config, "",
                           std::string("could not create the librdkafka client: ") + err.data());
  conf.release();  // owned by rk now
  return kafka_handle(rk);
}

}  // namespace detail
}  // namespace txova::kafka
