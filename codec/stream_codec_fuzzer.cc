// libFuzzer target for the stream codecs (LengthFieldCodec, LineCodec): what a TCP session does
// with them, fed hostile bytes.
//
// Input: byte 0 picks the codec (bit 0) and its maximum package length (bits 1-2: 0, 3, 100 or
// 70000); byte 1 seeds the chunk sizes; the rest is the byte stream. Invariants checked:
//   - no crash; every package within the maximum; a decode uses at most the bytes it was given;
//   - the same packages and final status whether the stream arrives whole, in pseudo-random
//     chunks or one byte at a time (the session's carry-over buffer, as in TcpSession);
//   - every package, encoded again, decodes back to itself in one step (the line codec refuses,
//     with InvalidArgument, to encode a line ending in '\r': it would not read back the same).
//
//   scripts/fuzz.sh stream_codec_fuzzer 60
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "ringnet/codec/length_field_codec.h"
#include "ringnet/codec/line_codec.h"

namespace ringnet::codec {
namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

struct Run {
  std::vector<std::string> packages;
  absl::Status status;
  bool operator==(const Run&) const = default;
};

// Decodes `stream` as it arrives in chunks: `next_chunk` gives each chunk's size.
template <typename NextChunk>
Run Decode(Codec& codec, size_t max, std::string_view stream, NextChunk next_chunk) {
  Run run;
  std::string pending;
  size_t offset = 0;
  while (offset < stream.size() && run.status.ok()) {
    const size_t n = std::min(next_chunk(), stream.size() - offset);
    pending.append(stream.substr(offset, n));
    offset += n;
    size_t used_total = 0;
    while (true) {
      Package pkg;
      const absl::string_view rest = absl::string_view(pending).substr(used_total);
      absl::StatusOr<size_t> used = codec.Decode(rest, &pkg);
      if (!used.ok()) {
        Check(!used.status().message().empty());
        run.status = used.status();
        break;
      }
      if (*used == 0) break;
      Check(*used <= rest.size());
      Check(pkg.bytes().size() <= max);
      run.packages.emplace_back(pkg.bytes());
      used_total += *used;
    }
    pending.erase(0, used_total);
  }
  return run;
}

}  // namespace
}  // namespace ringnet::codec

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ringnet::codec;
  if (size < 2) return 0;
  static constexpr size_t kMax[] = {0, 3, 100, 70000};
  const size_t max = kMax[(data[0] >> 1) & 3];
  std::unique_ptr<Codec> codec;
  if (data[0] & 1) {
    codec = std::make_unique<LineCodec>(max);
  } else {
    codec = std::make_unique<LengthFieldCodec>(max);
  }
  uint32_t seed = data[1] | 1u;
  const std::string_view stream(reinterpret_cast<const char*>(data + 2), size - 2);

  const Run whole = Decode(*codec, max, stream, [&] { return stream.size(); });
  const Run chunked = Decode(*codec, max, stream, [&] {
    seed = seed * 1103515245u + 12345u;
    return size_t{1} + (seed >> 16) % 37;
  });
  const Run bytes = Decode(*codec, max, stream, [] { return size_t{1}; });
  Check(whole == chunked);
  Check(whole == bytes);

  for (const std::string& p : whole.packages) {
    std::string wire;
    const absl::Status encoded = codec->Encode(Package::View(p), &wire);
    if ((data[0] & 1) && !p.empty() && p.back() == '\r') {
      Check(encoded.code() == absl::StatusCode::kInvalidArgument && wire.empty());
      continue;
    }
    Check(encoded.ok());
    Package back;
    absl::StatusOr<size_t> used = codec->Decode(wire, &back);
    Check(used.ok() && *used == wire.size() && back.bytes() == p);
  }
  return 0;
}
