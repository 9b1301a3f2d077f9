// Writes the fuzzers' seed corpus from the unit tests' sample inputs
// (test_inputs.h): one file per frame stream under <dir>/frame/ (prefixed with
// the fuzzer's two option bytes) and one per HTTP sample under
// <dir>/handshake/. The committed corpus in codec/websocket/corpus was made
// with:
//
//   bazel run //codec/websocket:corpus_gen -- $PWD/codec/websocket/corpus
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include "ringnet/codec/websocket/test_inputs.h"

namespace ringnet::codec::websocket::testing {
namespace {

bool Write(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return out.good();
}

int Main(const std::string& dir) {
  mkdir(dir.c_str(), 0755);
  mkdir((dir + "/frame").c_str(), 0755);
  mkdir((dir + "/handshake").c_str(), 0755);
  int written = 0;
  for (const FrameStream& s : SampleFrameStreams()) {
    // Option byte 0: role in bit 0, max_message_size index 3 (1 MiB) in bits
    // 1-2; byte 1 seeds the chunk sizes.
    std::string prefix = {static_cast<char>((s.role == Role::kClient ? 1 : 0) | (3 << 1)),
                          static_cast<char>(written * 37 + 5)};
    if (!Write(dir + "/frame/" + s.name, prefix + s.bytes)) return 1;
    ++written;
  }
  for (const HttpSample& s : SampleUpgradeRequests()) {
    if (!Write(dir + "/handshake/request_" + s.name, s.bytes)) return 1;
    ++written;
  }
  for (const HttpSample& s : SampleUpgradeResponses()) {
    if (!Write(dir + "/handshake/response_" + s.name, s.bytes)) return 1;
    ++written;
  }
  const char* const urls[] = {"ws://example.com/chat", "ws://[::1]:9000/x?y=1",
                              "wss://example.com/", "ws://a:65535"};
  for (size_t i = 0; i < std::size(urls); ++i) {
    const std::string name = "url_" + std::to_string(i);
    if (!Write(dir + "/handshake/" + name, urls[i])) return 1;
    ++written;
  }
  std::printf("wrote %d files under %s\n", written, dir.c_str());
  return 0;
}

}  // namespace
}  // namespace ringnet::codec::websocket::testing

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: corpus_gen <output directory>\n");
    return 2;
  }
  return ringnet::codec::websocket::testing::Main(argv[1]);
}
