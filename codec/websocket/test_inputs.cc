#include "ringnet/codec/websocket/test_inputs.h"

#include "absl/strings/str_cat.h"

namespace ringnet::codec::websocket::testing {
namespace {

std::string Repeat(absl::string_view unit, size_t times) {
  std::string s;
  for (size_t i = 0; i < times; ++i) s.append(unit.data(), unit.size());
  return s;
}

std::string Code(uint16_t code) {
  return std::string{static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)};
}

std::vector<FrameStream> ValidStreams() {
  const std::string c = ClientFrame(Opcode::kText, true, "Hello");
  // "κόσμε" with its second code point split across fragments, and control
  // frames between them.
  const std::string fragmented =
      ClientFrame(Opcode::kText, false, "\xce\xba\xe1") + ClientFrame(Opcode::kPing, true, "p1") +
      ClientFrame(Opcode::kContinuation, false, "\xbd\xb9") + ClientFrame(Opcode::kPong, true, "") +
      ClientFrame(Opcode::kContinuation, false, "") +
      ClientFrame(Opcode::kContinuation, true, "\xcf\x83\xce\xbc\xce\xb5");
  return {
      {"text_hello", Role::kServer, c, true},
      {"mixed", Role::kServer,
       c + ClientFrame(Opcode::kBinary, true, Repeat("\x01\xff", 150)) + fragmented +
           ClientFrame(Opcode::kBinary, true, "") + ClientFrame(Opcode::kPing, true, "") +
           ClientFrame(Opcode::kBinary, false, "ab") +
           ClientFrame(Opcode::kClose, true, Code(1000)) +
           ClientFrame(Opcode::kText, true, "after close: ignored"),
       true},
      {"ping_125", Role::kServer, ClientFrame(Opcode::kPing, true, Repeat("x", 125)), true},
      {"len16", Role::kServer, ClientFrame(Opcode::kBinary, true, Repeat("0123456789", 300)), true},
      {"close_reason", Role::kServer,
       ClientFrame(Opcode::kClose, true, Code(4000) + "done \xe2\x9c\x93"), true},
      {"close_empty", Role::kServer, ClientFrame(Opcode::kClose, true, ""), true},
      {"client_role", Role::kClient,
       ServerFrame(Opcode::kText, false, "He") + ServerFrame(Opcode::kPing, true, "x") +
           ServerFrame(Opcode::kContinuation, true, "llo") +
           ServerFrame(Opcode::kBinary, true, Repeat("z", 200)),
       true},
  };
}

std::vector<FrameStream> InvalidStreams() {
  const std::string hello = ClientFrame(Opcode::kText, true, "Hello");
  return {
      {"rsv1", Role::kServer, RawFrame(0xC1, 5, "", true, "Hello"), false},
      {"rsv3", Role::kServer, hello + RawFrame(0x91, 5, "", true, "Hello"), false},
      {"opcode3", Role::kServer, RawFrame(0x83, 0, "", true, ""), false},
      {"opcode11", Role::kServer, RawFrame(0x8B, 0, "", true, ""), false},
      {"unmasked_to_server", Role::kServer, ServerFrame(Opcode::kText, true, "Hello"), false},
      {"masked_to_client", Role::kClient, hello, false},
      {"continuation_first", Role::kServer, ClientFrame(Opcode::kContinuation, true, "x"), false},
      {"text_inside_fragmented", Role::kServer,
       ClientFrame(Opcode::kText, false, "a") + ClientFrame(Opcode::kText, true, "b"), false},
      {"ping_126", Role::kServer, ClientFrame(Opcode::kPing, true, Repeat("x", 126)), false},
      {"ping_fragmented", Role::kServer, ClientFrame(Opcode::kPing, false, "x"), false},
      {"len16_not_minimal", Role::kServer, RawFrame(0x82, 126, Code(5), true, "abcde"), false},
      {"len64_not_minimal", Role::kServer,
       RawFrame(0x82, 127, std::string("\0\0\0\0\0\0\0\x05", 8), true, "abcde"), false},
      {"len64_top_bit", Role::kServer,
       RawFrame(0x82, 127, std::string("\x80\0\0\0\0\0\0\x05", 8), true, ""), false},
      {"len64_2pow40", Role::kServer,
       RawFrame(0x82, 127, std::string("\0\0\x01\0\0\0\0\0", 8), true, "only a little"), false},
      {"bad_utf8_first_fragment", Role::kServer,
       ClientFrame(Opcode::kText, false, "ok \xed\xa0\x80"), false},
      {"utf8_ends_mid_sequence", Role::kServer, ClientFrame(Opcode::kText, true, "\xe2\x82"),
       false},
      {"close_1byte", Role::kServer, ClientFrame(Opcode::kClose, true, "\x03"), false},
      {"close_1005", Role::kServer, ClientFrame(Opcode::kClose, true, Code(1005)), false},
      {"close_bad_utf8", Role::kServer, ClientFrame(Opcode::kClose, true, Code(1000) + "\xff"),
       false},
  };
}

}  // namespace

std::string ClientFrame(Opcode opcode, bool fin, absl::string_view payload) {
  std::string out;
  AppendFrameHeader(opcode, fin, payload.size(), kTestKey, &out);
  const size_t start = out.size();
  out.append(payload.data(), payload.size());
  ApplyMask(out.data() + start, payload.size(), kTestKey);
  return out;
}

std::string ServerFrame(Opcode opcode, bool fin, absl::string_view payload) {
  std::string out;
  AppendFrameHeader(opcode, fin, payload.size(), std::nullopt, &out);
  out.append(payload.data(), payload.size());
  return out;
}

std::string RawFrame(uint8_t byte0, uint8_t len7, absl::string_view extended_length, bool masked,
                     absl::string_view payload) {
  std::string out;
  out.push_back(static_cast<char>(byte0));
  out.push_back(static_cast<char>((masked ? 0x80 : 0) | len7));
  out.append(extended_length.data(), extended_length.size());
  if (!masked) return absl::StrCat(out, payload);
  for (uint8_t b : kTestKey) out.push_back(static_cast<char>(b));
  const size_t start = out.size();
  out.append(payload.data(), payload.size());
  ApplyMask(out.data() + start, payload.size(), kTestKey);
  return out;
}

std::vector<FrameStream> SampleFrameStreams() {
  std::vector<FrameStream> streams = ValidStreams();
  for (FrameStream& s : InvalidStreams()) streams.push_back(std::move(s));
  return streams;
}

}  // namespace ringnet::codec::websocket::testing
