// Sample WebSocket inputs shared by the unit tests and the fuzzers' seed
// corpus (corpus_gen): frame streams, valid and invalid, and upgrade requests
// and responses.
//
// Example:
//
//   for (const FrameStream& s : SampleFrameStreams()) {
//     MessageParser parser({.role = s.role});
//     std::string bytes = s.bytes;
//     absl::Status status =
//         parser.Feed(absl::MakeSpan(bytes), [](const Message&) {});
//   }
//
// Thread-safe: pure functions. Test-only.
#ifndef RINGNET_CODEC_WEBSOCKET_TEST_INPUTS_H_
#define RINGNET_CODEC_WEBSOCKET_TEST_INPUTS_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "ringnet/codec/websocket/frame.h"

namespace ringnet::codec::websocket::testing {

// The masking key of every frame `ClientFrame` builds.
inline constexpr MaskKey kTestKey = {0x37, 0xfa, 0x21, 0x3d};

// A frame as a client sends it (masked with kTestKey). Checks nothing: control
// frames may be oversized or fragmented, to build invalid streams.
std::string ClientFrame(Opcode opcode, bool fin, absl::string_view payload);

// A frame as a server sends it (unmasked). Checks nothing.
std::string ServerFrame(Opcode opcode, bool fin, absl::string_view payload);

// A frame of raw header bytes and an optional mask: for lengths that are not
// minimally encoded, RSV bits, unknown opcodes.
std::string RawFrame(uint8_t byte0, uint8_t len7, absl::string_view extended_length, bool masked,
                     absl::string_view payload);

// A stream of frames and the side that parses it.
struct FrameStream {
  std::string name;
  Role role;  // the parser's role
  std::string bytes;
  bool valid;  // whether the whole stream parses without error
};

// Streams covering every frame rule, valid and invalid, each at most a few KiB.
std::vector<FrameStream> SampleFrameStreams();

// An HTTP head (request or response) with a name.
struct HttpSample {
  std::string name;
  std::string bytes;
};

// Upgrade requests: a valid browser request, variants, and one per rejection.
std::vector<HttpSample> SampleUpgradeRequests();

// Responses to the request whose key is the RFC 6455 sample key, valid and not.
std::vector<HttpSample> SampleUpgradeResponses();

}  // namespace ringnet::codec::websocket::testing

#endif  // RINGNET_CODEC_WEBSOCKET_TEST_INPUTS_H_
