// The README's demo: echo servers (TCP, UDP, WebSocket) and the load client in one process on
// loopback, and a short table of what they did (throughput, latency, io_uring_enter calls per
// message).
#include <atomic>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_format.h"
#include "ringnet/codec/raw_codec.h"
#include "ringnet/examples/echo_listener.h"
#include "ringnet/examples/load_client.h"
#include "ringnet/net/tcp_server.h"
#include "ringnet/net/udp_endpoint.h"
#include "ringnet/net/ws_server.h"
#include "ringnet/runtime/event_loop_group.h"

ABSL_FLAG(absl::Duration, duration, absl::Seconds(1), "how long each row's load runs");

namespace {

using ringnet::net::InetAddress;

struct Row {
  ringnet::examples::LoadProto proto;
  bool connected;  // udp
  int connections;
  size_t size;
  int depth;
};

const char* RowName(const Row& row) {
  switch (row.proto) {
    case ringnet::examples::LoadProto::kTcp:
      return "tcp";
    case ringnet::examples::LoadProto::kUdp:
      return row.connected ? "udp connected" : "udp unconnected";
    case ringnet::examples::LoadProto::kWebSocket:
      return "websocket";
  }
  return "?";
}

// The server's io_uring_enter calls so far (read on its loop thread).
uint64_t ServerEnters(ringnet::runtime::EventLoopGroup& group) {
  uint64_t total = 0;
  for (int i = 0; i < group.size(); ++i) {
    std::atomic<bool> done{false};
    uint64_t enters = 0;
    ringnet::runtime::EventLoop* loop = group.loop(i);
    loop->Post([&] {
      enters = loop->counters().enter_calls;
      done = true;
    });
    while (!done) std::this_thread::yield();
    total += enters;
  }
  return total;
}

int Fail(const absl::Status& s) {
  std::fprintf(stderr, "demo: %s\n", s.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  auto group = ringnet::runtime::EventLoopGroup::Create(1);
  if (!group.ok()) return Fail(group.status());
  auto echo = std::make_shared<ringnet::examples::EchoListener>();
  auto codec = std::make_shared<ringnet::codec::RawCodec>();
  // Every server's sessions: echo what arrives (one callback, copied into each options struct).
  const ringnet::net::NewSessionCallback new_session = [echo,
                                                        codec](ringnet::net::SessionConfig& c) {
    c.listener = echo;
    c.codec = codec;
    return absl::OkStatus();
  };
  ringnet::net::TcpServerOptions options;
  options.listen = InetAddress::Loopback(0);
  options.new_session = new_session;
  auto server = ringnet::net::TcpServer::Create(group->get(), std::move(options));
  if (!server.ok()) return Fail(server.status());
  ringnet::net::UdpEndpointOptions udp_options;
  udp_options.bind = InetAddress::Loopback(0);
  udp_options.receive_buffer_bytes = 4 << 20;
  udp_options.new_session = new_session;
  auto udp = ringnet::net::UdpEndpoint::Create(group->get(), udp_options);
  if (!udp.ok()) return Fail(udp.status());
  ringnet::net::WsServerOptions ws_options;
  ws_options.listen = InetAddress::Loopback(0);
  ws_options.new_session = new_session;
  auto ws = ringnet::net::WsServer::Create(group->get(), std::move(ws_options));
  if (!ws.ok()) return Fail(ws.status());
  std::printf(
      "ringnet demo: echo servers on tcp %s, udp %s and ws://%s; 1 loop (%s); load client "
      "in-process\n\n",
      (*server)->address().ToString().c_str(), (*udp)->address().ToString().c_str(),
      (*ws)->address().ToString().c_str(), (*group)->loop(0)->backend_reason().c_str());
  std::printf(
      "| proto | conns | size | depth | msg/s | MB/s | p50 us | p99 us | server enters/msg | "
      "errors |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  using ringnet::examples::LoadProto;
  const std::vector<Row> rows = {
      {LoadProto::kTcp, true, 1, 64, 1},         {LoadProto::kTcp, true, 64, 64, 16},
      {LoadProto::kTcp, true, 64, 4096, 16},     {LoadProto::kTcp, true, 256, 64, 4},
      {LoadProto::kUdp, true, 16, 64, 16},       {LoadProto::kUdp, false, 16, 64, 16},
      {LoadProto::kWebSocket, true, 64, 64, 16},
  };
  uint64_t errors = 0;
  for (const Row& row : rows) {
    ringnet::examples::LoadOptions load;
    load.proto = row.proto;
    load.udp_connected = row.connected;
    load.server = row.proto == LoadProto::kUdp         ? (*udp)->address()
                  : row.proto == LoadProto::kWebSocket ? (*ws)->address()
                                                       : (*server)->address();
    load.connections = row.connections;
    load.size = row.size;
    load.depth = row.depth;
    load.warmup = absl::Milliseconds(200);
    load.duration = absl::GetFlag(FLAGS_duration);
    const uint64_t enters_before = ServerEnters(**group);
    absl::StatusOr<ringnet::examples::LoadResult> r = ringnet::examples::RunLoad(load);
    if (!r.ok()) return Fail(r.status());
    const uint64_t enters = ServerEnters(**group) - enters_before;
    errors += r->errors;
    std::printf("| %s | %d | %zu | %d | %.0f | %.1f | %.1f | %.1f | %.4f | %llu |\n", RowName(row),
                row.connections, row.size, row.depth, r->messages_per_second(),
                r->megabytes_per_second(), r->p50_us, r->p99_us,
                r->total_messages > 0
                    ? static_cast<double>(enters) / static_cast<double>(r->total_messages)
                    : 0.0,
                static_cast<unsigned long long>(r->errors));
  }
  (*server)->Close();
  (*server)->WaitClosed(absl::Seconds(5));
  (*udp)->Close();
  (*udp)->WaitClosed(absl::Seconds(5));
  (*ws)->Close();
  (*ws)->WaitClosed(absl::Seconds(5));
  return errors == 0 ? 0 : 1;
}
