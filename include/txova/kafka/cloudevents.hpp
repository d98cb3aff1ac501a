#pragma once
// The CloudEvents 1.0 Kafka protocol binding for our envelope, both ways. Sans-IO.
//
//   envelope            CloudEvent                     binary mode           structured mode
//   id                  id                             ce_id                 "id"
//   type                type                           ce_type               "type"
//   source              source                         ce_source             "source"
//   timestamp           time (RFC 3339, UTC)           ce_time               "time"
//   version             schemaversion (extension)      ce_schemaversion      "schemaversion"
//   correlation_id      correlationid (extension)      ce_correlationid      "correlationid"
//   causation_id        causationid (extension)        ce_causationid        "causationid"
//   actor.id/.type      actorid/actortype (extensions) ce_actorid/ce_actortype
//   payload             data (application/json)        the record's value    "data"
//                       specversion "1.0"              ce_specversion        "specversion"
//                       datacontenttype                content-type header   "datacontenttype"
// Binary mode: the record's value is the payload, byte for byte. Structured mode: the value is
// the CloudEvent's JSON, content-type application/cloudevents+json. The key stays the partition key.
// Reading: structured when content-type starts with application/cloudevents, binary when a
// ce_specversion header is present. A CloudEvent without schemaversion is version "1.0"; without
// correlationid it starts a chain (its own id).
#include <txova/kafka/envelope.hpp>
#include <txova/kafka/error.hpp>

#include <boost/system/result.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace txova::kafka::cloudevents {

using headers = std::vector<std::pair<std::string, std::string>>;

/// The record of `e` in binary mode: the headers to send (ce_*, content-type) and the value.
std::pair<headers, std::string> to_binary(const envelope& e);
/// The record of `e` in structured mode: the content-type header and the CloudEvent JSON.
std::pair<headers, std::string> to_structured(const envelope& e);

enum class mode { none, binary, structured };
/// Which CloudEvents mode a record is in, from its content-type and ce_specversion headers.
mode detect(std::string_view content_type, bool has_specversion) noexcept;

/// The envelope a binary-mode record carries.
boost::system::result<envelope, diagnostic> from_binary(const headers& h, std::string_view value);
/// The envelope a structured-mode record carries.
boost::system::result<envelope, diagnostic> from_structured(std::string_view value);

}  // namespace txova::kafka::cloudevents
