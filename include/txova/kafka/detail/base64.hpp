#pragma once
// Standard base64 (RFC 4648, with padding): how binary bytes travel inside JSON (DLQ records,
// `txova tail -J`).
#include <optional>
#include <string>
#include <string_view>

namespace txova::kafka::detail {

std::string base64(std::string_view bytes);
/// The bytes of standard base64 text, or nullopt when `text` is not base64.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace txova::kafka::detail
