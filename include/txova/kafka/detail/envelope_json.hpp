#pragma once
// The envelope's JSON appended to a buffer the caller keeps: to_json without its own string, for
// the publish path that reuses one buffer per pending publish.
#include <string>

namespace txova::kafka {
struct envelope;
namespace detail {
void append_envelope_json(std::string& out, const envelope& e);
}  // namespace detail
}  // namespace txova::kafka
