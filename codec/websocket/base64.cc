#include "ringnet/codec/websocket/base64.h"

#include <cstdint>

namespace ringnet::codec::websocket {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// The 6-bit value of a base64 character, or -1.
int Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

std::string Base64Encode(absl::string_view data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    const uint32_t v = (uint32_t{static_cast<uint8_t>(data[i])} << 16) |
                       (uint32_t{static_cast<uint8_t>(data[i + 1])} << 8) |
                       static_cast<uint8_t>(data[i + 2]);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  const size_t rest = data.size() - i;
  if (rest > 0) {
    uint32_t v = uint32_t{static_cast<uint8_t>(data[i])} << 16;
    if (rest == 2) v |= uint32_t{static_cast<uint8_t>(data[i + 1])} << 8;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> Base64Decode(absl::string_view encoded) {
  if (encoded.size() % 4 != 0) return std::nullopt;
  size_t padding = 0;
  if (!encoded.empty() && encoded.back() == '=') ++padding;
  if (encoded.size() >= 2 && encoded[encoded.size() - 2] == '=') ++padding;
  std::string out;
  out.reserve(encoded.size() / 4 * 3);
  for (size_t i = 0; i < encoded.size(); i += 4) {
    const bool last = i + 4 == encoded.size();
    const size_t pads = last ? padding : 0;
    uint32_t v = 0;
    for (size_t j = 0; j < 4; ++j) {
      const int value = j >= 4 - pads ? 0 : Value(encoded[i + j]);
      if (value < 0) return std::nullopt;
      v = (v << 6) | static_cast<uint32_t>(value);
    }
    // The bits the padding leaves unused must be zero.
    if ((pads == 1 && (v & 0xFF) != 0) || (pads == 2 && (v & 0xFFFF) != 0)) return std::nullopt;
    out += static_cast<char>(v >> 16);
    if (pads < 2) out += static_cast<char>((v >> 8) & 0xFF);
    if (pads < 1) out += static_cast<char>(v & 0xFF);
  }
  return out;
}

}  // namespace ringnet::codec::websocket
