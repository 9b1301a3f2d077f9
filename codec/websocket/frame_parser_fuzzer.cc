// libFuzzer target for MessageParser (and, through its round trip, the frame
// encoder).
//
// Input: byte 0 picks the parser's role (bit 0) and max_message_size (bits
// 1-2: 125, 4096, 70000 or 1 MiB); byte 1 seeds the chunk sizes; the rest is
// the byte stream. Invariants checked on every input:
//   - no crash, and no delivered payload over max_message_size;
//   - control payloads <= 125 bytes, text payloads valid UTF-8, close codes
//     valid (or 1005 for an empty close);
//   - the same messages and final status whether the stream is fed whole, in
//     pseudo-random chunks, or one byte at a time;
//   - the messages, re-encoded by the peer's encoder, parse back identically.
//
//   scripts/fuzz.sh frame_parser_fuzzer 60
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "ringnet/codec/websocket/frame.h"
#include "ringnet/codec/websocket/message_parser.h"
#include "ringnet/codec/websocket/utf8.h"

namespace ringnet::codec::websocket {
namespace {

struct Got {
  Opcode type;
  std::string payload;
  uint16_t close_code;
  bool operator==(const Got&) const = default;
};

struct Run {
  std::vector<Got> messages;
  absl::Status status;
  bool operator==(const Run&) const = default;
};

void Check(bool condition) {
  if (!condition) std::abort();
}

void CheckMessage(const Message& m, uint64_t max) {
  Check(m.payload.size() <= max);
  switch (m.type) {
    case Opcode::kText:
      Check(IsValidUtf8(m.payload));
      break;
    case Opcode::kBinary:
      break;
    case Opcode::kClose:
      Check(m.close.code == kCloseNoStatusReceived ? m.payload.empty()
                                                   : IsValidReceivedCloseCode(m.close.code));
      Check(IsValidUtf8(m.close.reason));
      [[fallthrough]];
    case Opcode::kPing:
    case Opcode::kPong:
      Check(m.payload.size() <= kMaxControlPayloadBytes);
      break;
    default:
      Check(false);
  }
}

// Feeds `bytes` in chunks whose sizes come from `next_chunk`.
template <typename NextChunk>
Run Parse(std::string bytes, const ParserOptions& options, NextChunk next_chunk) {
  MessageParser parser(options);
  Run run;
  auto on_message = [&](const Message& m) {
    CheckMessage(m, options.max_message_size);
    run.messages.push_back(
        {m.type, std::string(m.payload), m.type == Opcode::kClose ? m.close.code : uint16_t{0}});
  };
  size_t pos = 0;
  do {
    const size_t n = std::min(next_chunk(), bytes.size() - pos);
    run.status = parser.Feed(absl::MakeSpan(bytes.data() + pos, n), on_message);
    pos += n;
  } while (pos < bytes.size());
  Check(parser.status() == run.status);
  return run;
}

// The messages of `run`, each encoded as one frame by the other side.
std::string Reencode(const Run& run, Role parser_role) {
  const std::optional<MaskKey> key =
      parser_role == Role::kServer ? std::optional<MaskKey>(MaskKey{1, 2, 3, 4}) : std::nullopt;
  std::string wire;
  for (const Got& m : run.messages) {
    Check(AppendFrameWithKey(m.type, true, m.payload, key, &wire).ok());
  }
  return wire;
}

}  // namespace
}  // namespace ringnet::codec::websocket

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ringnet::codec::websocket;
  if (size < 2) return 0;
  static constexpr uint64_t kMax[] = {125, 4096, 70000, 1 << 20};
  const ParserOptions options{.role = (data[0] & 1) ? Role::kClient : Role::kServer,
                              .max_message_size = kMax[(data[0] >> 1) & 3]};
  uint32_t seed = data[1] * 2654435761u + 1;
  const std::string bytes(reinterpret_cast<const char*>(data) + 2, size - 2);

  const Run whole = Parse(bytes, options, [&] { return bytes.size(); });
  const Run chunked = Parse(bytes, options, [&] {
    seed = seed * 1103515245u + 12345u;
    return size_t{1} + (seed >> 16) % 97;
  });
  Check(chunked == whole);
  if (bytes.size() <= 4096) {
    Check(Parse(bytes, options, [] { return size_t{1}; }) == whole);
  }
  Run round_trip = Parse(Reencode(whole, options.role), options, [&] { return size_t(-1); });
  Check(round_trip.status.ok());
  Check(round_trip.messages == whole.messages);
  return 0;
}
