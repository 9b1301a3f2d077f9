#include "ringnet/codec/websocket/handshake.h"

#include <string>

#include "absl/strings/escaping.h"
#include "ringnet/codec/websocket/sha1.h"

namespace ringnet::codec::websocket {

std::string ComputeAcceptKey(absl::string_view key) {
  Sha1 sha1;
  sha1.Update(key);
  sha1.Update(kWebSocketGuid);
  const Sha1Digest digest = sha1.Finish();
  return absl::Base64Escape(
      absl::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

bool IsValidClientKey(absl::string_view key) {
  if (key.size() != 24) return false;
  // abseil decodes leniently (whitespace, missing padding, stray bits in the last character), so
  // a header value must also be exactly what its bytes encode to: one canonical form.
  std::string decoded;
  return absl::Base64Unescape(key, &decoded) && decoded.size() == 16 &&
         absl::Base64Escape(decoded) == key;
}

}  // namespace ringnet::codec::websocket
