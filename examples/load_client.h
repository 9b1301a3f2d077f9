// A load generator for echo servers, shared by //examples:echo_client, the demo and the benches.
//
// Each connection keeps `depth` messages of `size` bytes in flight; every echoed byte is checked
// against what was sent (a byte pattern that differs per message), and every message's round
// trip is timed from its write to the arrival of its last byte. Works against any echo server.
//
// Example:
//
//   LoadOptions options;
//   options.server = *InetAddress::Parse("127.0.0.1:9000");
//   options.connections = 64;
//   absl::StatusOr<LoadResult> result = RunLoad(options);
//   std::printf("%s\n", FormatResult(options, *result).c_str());
#ifndef RINGNET_EXAMPLES_LOAD_CLIENT_H_
#define RINGNET_EXAMPLES_LOAD_CLIENT_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ringnet/net/inet_address.h"

namespace ringnet::examples {

enum class LoadProto { kTcp, kUdp, kWebSocket };

struct LoadOptions {
  LoadProto proto = LoadProto::kTcp;
  net::InetAddress server;
  int connections = 1;
  size_t size = 64;
  int depth = 1;
  absl::Duration duration = absl::Seconds(5);
  // Time excluded from the figures at the start.
  absl::Duration warmup = absl::ZeroDuration();
  // Client event loops (threads).
  int loops = 1;
  // UDP: connect(2) the client sockets (else sendmsg with an address per datagram).
  bool udp_connected = true;
  // WebSocket: the path to request.
  std::string ws_path = "/";
  // Called (on the calling thread) when the measured window opens and closes; benches sample
  // the server's CPU time there.
  std::function<void()> on_window_start;
  std::function<void()> on_window_end;
};

struct LoadResult {
  uint64_t messages = 0;        // completed round trips in the measured window
  uint64_t total_messages = 0;  // completed round trips, warm-up included
  uint64_t bytes = 0;           // echoed bytes in the measured window
  double seconds = 0;           // the measured window
  double p50_us = 0;
  double p99_us = 0;
  double p999_us = 0;
  uint64_t errors = 0;  // mismatched bytes, session errors, lost connections
  uint64_t lost = 0;    // UDP: datagrams that never came back
  int connected = 0;    // sessions that opened
  double messages_per_second() const {
    return seconds > 0 ? static_cast<double>(messages) / seconds : 0;
  }
  double megabytes_per_second() const {
    return seconds > 0 ? static_cast<double>(bytes) / seconds / 1e6 : 0;
  }
};

// Runs the load and returns its figures. Errors: bad options, or no connection at all.
absl::StatusOr<LoadResult> RunLoad(const LoadOptions& options);

// "messages: N (R/s)  throughput: X MB/s ..." plus a machine-readable "RESULT k=v ..." line.
std::string FormatResult(const LoadOptions& options, const LoadResult& result);

// "tcp", "udp", "ws".
const char* LoadProtoName(LoadProto proto);
absl::StatusOr<LoadProto> ParseLoadProto(absl::string_view name);

}  // namespace ringnet::examples

#endif  // RINGNET_EXAMPLES_LOAD_CLIENT_H_
