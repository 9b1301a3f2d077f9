// echo_client: a load generator for any echo server; verifies every echoed byte.
//
//   echo_client --proto=tcp --connect=127.0.0.1:9000 --connections=64 --size=64 --depth=16
//               --duration=5
//
// Prints messages/s, MB/s, p50/p99/p99.9 latency and errors, then a machine-readable line
// "RESULT proto=... msgs_per_sec=... p50_us=... errors=...". Exits 1 if any byte was wrong or a
// connection was lost.
#include <cstdio>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "ringnet/examples/load_client.h"

ABSL_FLAG(std::string, proto, "tcp", "tcp, udp or ws");
ABSL_FLAG(std::string, connect, "127.0.0.1:9000", "server HOST:PORT");
ABSL_FLAG(int, connections, 1, "connections (sockets)");
ABSL_FLAG(int64_t, size, 64, "message size in bytes");
ABSL_FLAG(int, depth, 1, "messages in flight per connection");
ABSL_FLAG(double, duration, 5, "measured seconds");
ABSL_FLAG(double, warmup, 0, "seconds of warm-up excluded from the figures");
ABSL_FLAG(int, loops, 1, "client event loop threads");
ABSL_FLAG(bool, connected, true, "udp: connect(2) the client sockets");
ABSL_FLAG(std::string, path, "/", "ws: request path");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "echo load client: --proto=tcp|udp|ws --connect=HOST:PORT --connections=N --size=BYTES "
      "--depth=D --duration=SECONDS");
  absl::ParseCommandLine(argc, argv);
  ringnet::examples::LoadOptions options;
  absl::StatusOr<ringnet::examples::LoadProto> proto =
      ringnet::examples::ParseLoadProto(absl::GetFlag(FLAGS_proto));
  absl::StatusOr<ringnet::net::InetAddress> server =
      ringnet::net::InetAddress::Parse(absl::GetFlag(FLAGS_connect));
  if (!proto.ok() || !server.ok()) {
    std::fprintf(stderr, "echo_client: %s\n",
                 (!proto.ok() ? proto.status() : server.status()).ToString().c_str());
    return 2;
  }
  options.proto = *proto;
  options.server = *server;
  options.connections = absl::GetFlag(FLAGS_connections);
  options.size = static_cast<size_t>(absl::GetFlag(FLAGS_size));
  options.depth = absl::GetFlag(FLAGS_depth);
  options.duration = absl::Seconds(absl::GetFlag(FLAGS_duration));
  options.warmup = absl::Seconds(absl::GetFlag(FLAGS_warmup));
  options.loops = absl::GetFlag(FLAGS_loops);
  options.udp_connected = absl::GetFlag(FLAGS_connected);
  options.ws_path = absl::GetFlag(FLAGS_path);
  absl::StatusOr<ringnet::examples::LoadResult> result = ringnet::examples::RunLoad(options);
  if (!result.ok()) {
    std::fprintf(stderr, "echo_client: %s\n", result.status().ToString().c_str());
    return 1;
  }
  std::printf("%s", ringnet::examples::FormatResult(options, *result).c_str());
  return result->errors == 0 ? 0 : 1;
}
