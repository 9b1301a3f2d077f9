// The README's demo: echo servers (TCP and WebSocket) and the load client in one process on
// loopback, and a short table of what they did (throughput, latency, io_uring_enter calls per
// message).
#include <cstdio>
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "ringnet/codec/raw_codec.h"
#include "ringnet/examples/load_client.h"
#include "ringnet/net/tcp_server.h"
#include "ringnet/net/ws_server.h"
#include "ringnet/runtime/event_loop_group.h"

namespace {

using ringnet::net::InetAddress;
using ringnet::net::Package;
using ringnet::net::SessionHandle;

class Echo : public ringnet::net::EventListener {
 public:
  void OnMessage(const SessionHandle& s, Package& pkg, const InetAddress&) override {
    if (s.kind() == ringnet::net::SessionKind::kWebSocket) {
      (void)s.WritePkg(std::move(pkg));  // one message back, same kind
    } else {
      (void)s.WriteBytes(pkg.bytes());
    }
  }
};

struct Row {
  const char* proto;
  int connections;
  size_t size;
  int depth;
};

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

int main() {
  auto group = ringnet::runtime::EventLoopGroup::Create(1);
  if (!group.ok()) return Fail(group.status());
  auto echo = std::make_shared<Echo>();
  auto codec = std::make_shared<ringnet::codec::RawCodec>();
  ringnet::net::TcpServerOptions options;
  options.listen = InetAddress::Loopback(0);
  options.new_session = [echo, codec](ringnet::net::SessionConfig& c) {
    c.listener = echo;
    c.codec = codec;
    return absl::OkStatus();
  };
  ringnet::net::WsServerOptions ws_options;
  ws_options.listen = InetAddress::Loopback(0);
  ws_options.new_session = options.new_session;
  auto server = ringnet::net::TcpServer::Create(group->get(), std::move(options));
  if (!server.ok()) return Fail(server.status());
  auto ws_server = ringnet::net::WsServer::Create(group->get(), std::move(ws_options));
  if (!ws_server.ok()) return Fail(ws_server.status());
  std::printf(
      "ringnet demo: echo servers on %s (tcp) and ws://%s (1 loop, %s ring), load client "
      "in-process\n\n",
      (*server)->address().ToString().c_str(), (*ws_server)->address().ToString().c_str(),
      std::string(ringnet::runtime::RingModeName((*group)->loop(0)->ring_mode())).c_str());
  std::printf(
      "| proto | conns | size | depth | msg/s | MB/s | p50 us | p99 us | server enters/msg | "
      "errors |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  const std::vector<Row> rows = {{"tcp", 1, 64, 1},
                                 {"tcp", 64, 64, 16},
                                 {"tcp", 64, 4096, 16},
                                 {"tcp", 256, 64, 4},
                                 {"ws", 64, 64, 16}};
  uint64_t errors = 0;
  for (const Row& row : rows) {
    ringnet::examples::LoadOptions load;
    const bool ws = std::string(row.proto) == "ws";
    load.proto = ws ? ringnet::examples::LoadProto::kWebSocket : ringnet::examples::LoadProto::kTcp;
    load.server = ws ? (*ws_server)->address() : (*server)->address();
    load.connections = row.connections;
    load.size = row.size;
    load.depth = row.depth;
    load.warmup = absl::Milliseconds(200);
    load.duration = absl::Seconds(1);
    const uint64_t enters_before = ServerEnters(**group);
    absl::StatusOr<ringnet::examples::LoadResult> r = ringnet::examples::RunLoad(load);
    if (!r.ok()) return Fail(r.status());
    const uint64_t enters = ServerEnters(**group) - enters_before;
    errors += r->errors;
    std::printf("| %s | %d | %zu | %d | %.0f | %.1f | %.1f | %.1f | %.4f | %llu |\n", row.proto,
                row.connections, row.size, row.depth, r->messages_per_second(),
                r->megabytes_per_second(), r->p50_us, r->p99_us,
                r->total_messages > 0 ? static_cast<double>(enters) / r->total_messages : 0.0,
                static_cast<unsigned long long>(r->errors));
  }
  (*server)->Close();
  (*ws_server)->Close();
  (*server)->WaitClosed(absl::Seconds(5));
  (*ws_server)->WaitClosed(absl::Seconds(5));
  return errors == 0 ? 0 : 1;
}
