// Codec: getty's package handler, the translation between a byte stream and packages.
//
// A session hands its codec the bytes received so far; the codec decodes at most one package from
// their front, says it needs more bytes, or fails (the session then closes with that error). To
// write, the session asks the codec to append a package's wire form to its outbound queue.
// Codecs are pure functions over bytes: no sockets, no io_uring, testable and fuzzable alone.
//
// Example (a codec for 2-byte big-endian length-prefixed frames):
//
//   class ShortFrames : public Codec {
//     absl::StatusOr<size_t> Decode(absl::string_view in, Package* pkg) override {
//       if (in.size() < 2) return 0;
//       size_t len = (uint8_t(in[0]) << 8) | uint8_t(in[1]);
//       if (in.size() < 2 + len) return 0;
//       *pkg = Package::View(in.substr(2, len));
//       return 2 + len;
//     }
//     absl::Status Encode(const Package& pkg, std::string* out) override { ... }
//   };
//
// Thread safety: a session calls its codec from its own loop thread only. The codecs in codec/
// keep no state, so one instance may be shared by sessions on different loops.
#ifndef RINGNET_CODEC_CODEC_H_
#define RINGNET_CODEC_CODEC_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ringnet/codec/package.h"

namespace ringnet::codec {

class Codec {
 public:
  virtual ~Codec() = default;

  // Decodes at most one package from the front of `input`. Returns the number of bytes used
  // (> 0, with `*pkg` set; its bytes may borrow from `input`), 0 when `input` does not yet hold a
  // whole package, or an error naming what is wrong with the input. A codec that limits package
  // size must fail as soon as a header announces too much, before those bytes arrive.
  virtual absl::StatusOr<size_t> Decode(absl::string_view input, Package* pkg) = 0;

  // Appends the wire form of `pkg` to `out`; on error appends nothing.
  virtual absl::Status Encode(const Package& pkg, std::string* out) = 0;
};

}  // namespace ringnet::codec

#endif  // RINGNET_CODEC_CODEC_H_
