// LengthFieldCodec: a 4-byte big-endian length, then that many bytes (the framing getty's
// examples use). The length counts the body only.
//
// The declared length is checked against `max_length` as soon as the 4 header bytes arrive, so a
// peer announcing 4 GiB is refused before a byte of it is buffered.
//
// Example:
//
//   config.codec = std::make_shared<LengthFieldCodec>(/*max_length=*/1 << 20);
//
// Thread safety: stateless; one instance may be shared by any number of sessions.
#ifndef RINGNET_CODEC_LENGTH_FIELD_CODEC_H_
#define RINGNET_CODEC_LENGTH_FIELD_CODEC_H_

#include <cstddef>

#include "ringnet/codec/codec.h"

namespace ringnet::codec {

class LengthFieldCodec final : public Codec {
 public:
  static constexpr size_t kHeaderBytes = 4;

  explicit LengthFieldCodec(size_t max_length = 4 << 20) : max_length_(max_length) {}

  // Decodes one frame; ResourceExhausted when the header announces more than max_length.
  absl::StatusOr<size_t> Decode(absl::string_view input, Package* pkg) override;
  // Appends header and body; ResourceExhausted when the body exceeds max_length.
  absl::Status Encode(const Package& pkg, std::string* out) override;

  size_t max_length() const { return max_length_; }

 private:
  size_t max_length_;
};

}  // namespace ringnet::codec

#endif  // RINGNET_CODEC_LENGTH_FIELD_CODEC_H_
