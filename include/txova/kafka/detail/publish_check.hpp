#pragma once
// Validation and partition-key lookup for the publish path, with a single parse of the payload.
#include <txova/kafka/catalog.hpp>
#include <txova/kafka/error.hpp>

#include <boost/json/object.hpp>
#include <boost/system/result.hpp>

#include <string>
#include <string_view>

namespace txova::kafka {
struct envelope;
namespace detail {

/// validate(e), and when `key` is given also the partition key of `e` in `c` (the type must be
/// in the catalog); the payload is parsed once for both.
diagnostic validate_for_publish(const envelope& e, const catalog& c, std::string* key);

/// Every envelope field but the payload (id, type, version, source, correlation id, actor):
/// what a typed publish, whose payload was checked as a typed value, still needs checked.
diagnostic check_envelope_fields(const envelope& e);

/// The partition key of a parsed payload of `type`; errors as partition_key() reports them.
boost::system::result<std::string, diagnostic> key_of(const boost::json::object& payload, std::string_view type,
                                                      const event_info& info);

/// error::unknown_event_type for a type the catalog lacks, naming it.
diagnostic not_in_catalog(std::string_view type);

}  // namespace detail
}  // namespace txova::kafka
