// LineCodec: packages separated by '\n' (a trailing '\r' is dropped), at most `max_line_length`
// bytes each, not counting the terminator. Encode refuses a line containing '\n' or ending with
// '\r' (the peer would read it back differently).
//
// A line that grows past the limit without a '\n' fails as soon as the limit is passed, so a peer
// cannot make the session buffer an endless line.
//
// Example:
//
//   config.codec = std::make_shared<LineCodec>(/*max_line_length=*/4096);
//   session.WritePkg(Package(std::string("PING")));  // sends "PING\n"
//
// Thread safety: stateless; one instance may be shared by any number of sessions.
#ifndef RINGNET_CODEC_LINE_CODEC_H_
#define RINGNET_CODEC_LINE_CODEC_H_

#include <cstddef>

#include "ringnet/codec/codec.h"

namespace ringnet::codec {

class LineCodec final : public Codec {
 public:
  explicit LineCodec(size_t max_line_length = 64 << 10) : max_line_length_(max_line_length) {}

  // Decodes one line without its terminator; ResourceExhausted past max_line_length.
  absl::StatusOr<size_t> Decode(absl::string_view input, Package* pkg) override;
  // Appends the bytes and '\n'; InvalidArgument if they contain '\n', ResourceExhausted if too
  // long.
  absl::Status Encode(const Package& pkg, std::string* out) override;

 private:
  size_t max_line_length_;
};

}  // namespace ringnet::codec

#endif  // RINGNET_CODEC_LINE_CODEC_H_
