#include "ringnet/codec/websocket/handshake.h"

#include <optional>

#include "ringnet/codec/websocket/base64.h"
#include "ringnet/codec/websocket/sha1.h"

namespace ringnet::codec::websocket {

std::string ComputeAcceptKey(absl::string_view key) {
  Sha1 sha1;
  sha1.Update(key);
  sha1.Update(kWebSocketGuid);
  const Sha1Digest digest = sha1.Finish();
  return Base64Encode(
      absl::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

bool IsValidClientKey(absl::string_view key) {
  if (key.size() != 24) return false;
  std::optional<std::string> decoded = Base64Decode(key);
  return decoded.has_value() && decoded->size() == 16;
}

}  // namespace ringnet::codec::websocket
