#include "ringnet/codec/length_field_codec.h"

#include <cstdint>

#include "absl/strings/str_cat.h"

namespace ringnet::codec {

absl::StatusOr<size_t> LengthFieldCodec::Decode(absl::string_view input, Package* pkg) {
  if (input.size() < kHeaderBytes) return 0;
  const auto* h = reinterpret_cast<const uint8_t*>(input.data());
  const uint64_t length =
      (uint64_t{h[0]} << 24) | (uint64_t{h[1]} << 16) | (uint64_t{h[2]} << 8) | uint64_t{h[3]};
  if (length > max_length_) {
    return absl::ResourceExhaustedError(absl::StrCat("length-field codec: declared length ", length,
                                                     " exceeds the maximum ", max_length_));
  }
  if (input.size() - kHeaderBytes < length) return 0;
  *pkg = Package::View(input.substr(kHeaderBytes, length));
  return kHeaderBytes + length;
}

absl::Status LengthFieldCodec::Encode(const Package& pkg, std::string* out) {
  const absl::string_view body = pkg.bytes();
  if (body.size() > max_length_ || body.size() > UINT32_MAX) {
    return absl::ResourceExhaustedError(absl::StrCat("length-field codec: package of ", body.size(),
                                                     " bytes exceeds the maximum ", max_length_));
  }
  const uint32_t n = static_cast<uint32_t>(body.size());
  const char header[kHeaderBytes] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                                     static_cast<char>(n >> 8), static_cast<char>(n)};
  out->append(header, kHeaderBytes);
  out->append(body.data(), body.size());
  return absl::OkStatus();
}

}  // namespace ringnet::codec
