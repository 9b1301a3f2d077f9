// RawCodec: bytes as they come. Each receive becomes one package; writes go out unchanged.
//
// Example:
//
//   config.codec = std::make_shared<RawCodec>();
//
// Thread safety: stateless; one instance may be shared by any number of sessions.
#ifndef RINGNET_CODEC_RAW_CODEC_H_
#define RINGNET_CODEC_RAW_CODEC_H_

#include "ringnet/codec/codec.h"

namespace ringnet::codec {

class RawCodec final : public Codec {
 public:
  // The whole input is one package (borrowed); empty input needs more.
  absl::StatusOr<size_t> Decode(absl::string_view input, Package* pkg) override {
    if (input.empty()) return 0;
    *pkg = Package::View(input);
    return input.size();
  }

  // Appends the package's bytes.
  absl::Status Encode(const Package& pkg, std::string* out) override {
    out->append(pkg.bytes().data(), pkg.bytes().size());
    return absl::OkStatus();
  }
};

}  // namespace ringnet::codec

#endif  // RINGNET_CODEC_RAW_CODEC_H_
