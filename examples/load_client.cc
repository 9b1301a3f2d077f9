#include "ringnet/examples/load_client.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ringnet/examples/latency_histogram.h"
#include "ringnet/net/tcp_client.h"
#include "ringnet/net/udp_client.h"
#include "ringnet/net/udp_endpoint.h"
#include "ringnet/net/ws_client.h"
#include "ringnet/runtime/event_loop_group.h"

namespace ringnet::examples {
namespace {

using net::InetAddress;
using net::Package;
using net::SessionHandle;

// Message i's bytes are pattern[i % kPatternPeriod, +size): every message differs from the ones
// next to it, so a lost, duplicated or reordered byte is caught.
constexpr size_t kPatternPeriod = 251;

// A UDP datagram in flight: datagrams carry their sequence number and slot, so a lost one is
// noticed (its slot times out) and replaced instead of stalling the connection.
struct DatagramSlot {
  uint64_t seq = 0;
  int64_t sent_at = 0;
  bool pending = false;
};
constexpr size_t kDatagramHeader = 12;  // 8-byte sequence number, 4-byte slot
constexpr int64_t kDatagramTimeoutNs = 200'000'000;

// The sender and checker of one session. Touched only on the session's loop thread.
struct Connection {
  SessionHandle session;
  std::vector<DatagramSlot> datagrams;  // UDP: one per message in flight
  std::vector<int64_t> sent_at;         // ring of `depth` send times
  uint64_t next_send = 0;
  uint64_t stream_offset = 0;  // stream protocols: bytes received so far
  uint64_t next_message = 0;   // message protocols: next expected message index
  LatencyHistogram* histogram = nullptr;
  uint64_t completed = 0;
  uint64_t all_completed = 0;
  uint64_t bytes = 0;
  uint64_t errors = 0;
  uint64_t lost = 0;
};

class LoadListener : public net::EventListener {
 public:
  explicit LoadListener(const LoadOptions& options) : options_(options) {
    pattern_.resize(options.size + kPatternPeriod);
    for (size_t i = 0; i < pattern_.size(); ++i) pattern_[i] = static_cast<char>(i * 31 + 7);
  }

  // The measured window, in monotonic ns; set before the first session opens.
  void SetWindow(int64_t start, int64_t end) {
    window_start_ = start;
    window_end_ = end;
  }
  void StopSending() { stop_sending_.store(true, std::memory_order_release); }
  size_t size() const { return options_.size; }

  absl::Status OnOpen(const SessionHandle& s) override {
    auto conn = std::make_unique<Connection>();
    conn->session = s;
    conn->sent_at.assign(static_cast<size_t>(options_.depth), 0);
    conn->datagrams.resize(options_.proto == LoadProto::kUdp ? options_.depth : 0);
    conn->histogram = &ThreadHistogram();
    Connection* raw = conn.get();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      connections_.push_back(std::move(conn));
    }
    ThreadConnections()[s.id()] = raw;
    for (int i = 0; i < options_.depth; ++i) {
      if (options_.proto == LoadProto::kUdp) {
        SendDatagram(*raw, static_cast<uint32_t>(i));
      } else {
        Send(*raw);
      }
    }
    return absl::OkStatus();
  }

  // UDP: replaces datagrams that did not come back in time.
  void OnCron(const SessionHandle& s) override {
    auto it = ThreadConnections().find(s.id());
    if (it == ThreadConnections().end() || options_.proto != LoadProto::kUdp) return;
    Connection& c = *it->second;
    const int64_t now = Now();
    for (uint32_t slot = 0; slot < c.datagrams.size(); ++slot) {
      DatagramSlot& d = c.datagrams[slot];
      if (d.pending && now - d.sent_at > kDatagramTimeoutNs) {
        ++c.lost;
        d.pending = false;
        SendDatagram(c, slot);
      }
    }
  }

  void OnError(const SessionHandle&, const absl::Status&) override {
    errors_.fetch_add(1, std::memory_order_relaxed);
  }

  void OnClose(const SessionHandle& s) override {
    if (!stop_sending_.load(std::memory_order_acquire)) {
      errors_.fetch_add(1, std::memory_order_relaxed);  // lost while running
    }
    ThreadConnections().erase(s.id());
  }

  void OnMessage(const SessionHandle& s, Package& pkg, const InetAddress&) override {
    auto it = ThreadConnections().find(s.id());
    if (it == ThreadConnections().end()) return;
    Connection& c = *it->second;
    switch (options_.proto) {
      case LoadProto::kTcp:
        OnStreamBytes(c, pkg.bytes());
        break;
      case LoadProto::kUdp:
        OnDatagram(c, pkg.bytes());
        break;
      case LoadProto::kWebSocket:
        OnWholeMessage(c, pkg.bytes());
        break;
    }
  }

  LoadResult Collect() {
    LoadResult r;
    LatencyHistogram merged;
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& c : connections_) {
      r.messages += c->completed;
      r.total_messages += c->all_completed;
      r.bytes += c->bytes;
      r.errors += c->errors;
      r.lost += c->lost;
    }
    for (auto& h : histograms_) merged.Merge(*h);
    r.connected = static_cast<int>(connections_.size());
    r.errors += errors_.load();
    r.p50_us = merged.Quantile(0.50) / 1000;
    r.p99_us = merged.Quantile(0.99) / 1000;
    r.p999_us = merged.Quantile(0.999) / 1000;
    r.seconds = static_cast<double>(window_end_ - window_start_) / 1e9;
    return r;
  }

 private:
  static int64_t Now() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  absl::string_view MessageBytes(uint64_t index) const {
    return absl::string_view(pattern_.data() + index % kPatternPeriod, options_.size);
  }

  void Send(Connection& c) {
    if (stop_sending_.load(std::memory_order_relaxed)) return;
    c.sent_at[c.next_send % c.sent_at.size()] = Now();
    if (!c.session.WriteBytes(MessageBytes(c.next_send)).ok()) ++c.errors;
    ++c.next_send;
  }

  void Completed(Connection& c, uint64_t index) {
    const int64_t now = Now();
    ++c.all_completed;
    if (now >= window_start_ && now < window_end_) {
      c.histogram->Add(now - c.sent_at[index % c.sent_at.size()]);
      ++c.completed;
      c.bytes += options_.size;
    }
    Send(c);
  }

  // UDP: [seq][slot][pattern of message seq, from byte 12].
  void SendDatagram(Connection& c, uint32_t slot) {
    if (stop_sending_.load(std::memory_order_relaxed)) return;
    const uint64_t seq = c.next_send++;
    std::string datagram(MessageBytes(seq));
    std::memcpy(datagram.data(), &seq, sizeof(seq));
    std::memcpy(datagram.data() + sizeof(seq), &slot, sizeof(slot));
    DatagramSlot& d = c.datagrams[slot];
    d.seq = seq;
    d.sent_at = Now();
    d.pending = true;
    absl::Status sent = options_.udp_connected ? c.session.WriteBytes(std::move(datagram))
                                               : c.session.WriteBytesTo(datagram, options_.server);
    if (!sent.ok()) ++c.errors;
  }

  void OnDatagram(Connection& c, absl::string_view bytes) {
    uint64_t seq;
    uint32_t slot;
    if (bytes.size() != options_.size) {
      ++c.errors;
      return;
    }
    std::memcpy(&seq, bytes.data(), sizeof(seq));
    std::memcpy(&slot, bytes.data() + sizeof(seq), sizeof(slot));
    if (slot >= c.datagrams.size() || !c.datagrams[slot].pending || c.datagrams[slot].seq != seq) {
      return;  // a late echo of a datagram already counted as lost
    }
    if (bytes.substr(kDatagramHeader) != MessageBytes(seq).substr(kDatagramHeader)) ++c.errors;
    DatagramSlot& d = c.datagrams[slot];
    d.pending = false;
    const int64_t now = Now();
    ++c.all_completed;
    if (now >= window_start_ && now < window_end_) {
      c.histogram->Add(now - d.sent_at);
      ++c.completed;
      c.bytes += options_.size;
    }
    SendDatagram(c, slot);
  }

  // TCP: the echo is a byte stream; check it against the stream that was sent.
  void OnStreamBytes(Connection& c, absl::string_view bytes) {
    while (!bytes.empty()) {
      const uint64_t index = c.stream_offset / options_.size;
      const size_t offset = c.stream_offset % options_.size;
      const size_t n = std::min(bytes.size(), options_.size - offset);
      if (std::memcmp(bytes.data(), MessageBytes(index).data() + offset, n) != 0) ++c.errors;
      c.stream_offset += n;
      bytes.remove_prefix(n);
      if (offset + n == options_.size) Completed(c, index);
    }
  }

  // Message protocols: each echo is one whole message.
  void OnWholeMessage(Connection& c, absl::string_view bytes) {
    if (bytes != MessageBytes(c.next_message)) ++c.errors;
    Completed(c, c.next_message++);
  }

  LatencyHistogram& ThreadHistogram() {
    thread_local LatencyHistogram* mine = nullptr;
    thread_local const LoadListener* owner = nullptr;
    if (owner != this) {
      auto h = std::make_unique<LatencyHistogram>();
      mine = h.get();
      owner = this;
      std::lock_guard<std::mutex> lock(mutex_);
      histograms_.push_back(std::move(h));
    }
    return *mine;
  }

  absl::flat_hash_map<uint64_t, Connection*>& ThreadConnections() {
    thread_local absl::flat_hash_map<uint64_t, Connection*> map;
    return map;
  }

  const LoadOptions options_;
  std::string pattern_;
  int64_t window_start_ = 0;
  int64_t window_end_ = 0;
  std::atomic<bool> stop_sending_{false};
  std::atomic<uint64_t> errors_{0};
  std::mutex mutex_;
  std::vector<std::unique_ptr<Connection>> connections_;       // guarded by mutex_
  std::vector<std::unique_ptr<LatencyHistogram>> histograms_;  // guarded by mutex_
};

// Starts the load's client endpoint; returns what closes it and waits for it.
}  // namespace

const char* LoadProtoName(LoadProto proto) {
  switch (proto) {
    case LoadProto::kTcp:
      return "tcp";
    case LoadProto::kUdp:
      return "udp";
    case LoadProto::kWebSocket:
      return "ws";
  }
  return "?";
}

absl::StatusOr<LoadProto> ParseLoadProto(absl::string_view name) {
  if (name == "tcp") return LoadProto::kTcp;
  if (name == "udp") return LoadProto::kUdp;
  if (name == "ws") return LoadProto::kWebSocket;
  return absl::InvalidArgumentError(absl::StrCat("unknown --proto=", name, " (tcp, udp, ws)"));
}

namespace {

// The client endpoints of one load run, whatever the protocol.
class LoadClients {
 public:
  absl::Status Start(const LoadOptions& options, runtime::EventLoopGroup* group,
                     const std::shared_ptr<LoadListener>& listener) {
    auto configure = [listener, udp = options.proto == LoadProto::kUdp](net::SessionConfig& c) {
      c.listener = listener;
      c.options.write_high_water = 1ull << 40;  // the load is bounded by depth, not the queue
      c.options.max_msg_len = std::max<size_t>(c.options.max_msg_len, 2 * listener->size());
      if (udp) c.options.cron_period = absl::Milliseconds(50);  // finds lost datagrams
      return absl::OkStatus();
    };
    switch (options.proto) {
      case LoadProto::kTcp: {
        net::TcpClientOptions o;
        o.server = options.server;
        o.connections = options.connections;
        o.reconnect = false;
        o.new_session = configure;
        return Keep(net::TcpClient::Create(group, o), &tcp_);
      }
      case LoadProto::kUdp:
        return StartUdp(options, group, configure);
      case LoadProto::kWebSocket: {
        net::WsClientOptions o;
        o.url = absl::StrCat("ws://", options.server.ToString(), options.ws_path);
        o.server = options.server;
        o.connections = options.connections;
        o.reconnect = false;
        o.new_session = configure;
        return Keep(net::WsClient::Create(group, std::move(o)), &ws_);
      }
    }
    return absl::InvalidArgumentError("unknown protocol");
  }

  void CloseAndWait() {
    if (tcp_) tcp_->Close();
    if (udp_) udp_->Close();
    if (ws_) ws_->Close();
    for (auto& e : endpoints_) e->Close();
    if (tcp_) tcp_->WaitClosed(absl::Seconds(5));
    if (udp_) udp_->WaitClosed(absl::Seconds(5));
    if (ws_) ws_->WaitClosed(absl::Seconds(5));
    for (auto& e : endpoints_) e->WaitClosed(absl::Seconds(5));
  }

 private:
  template <typename T>
  static absl::Status Keep(absl::StatusOr<std::unique_ptr<T>> made, std::unique_ptr<T>* slot) {
    if (!made.ok()) return made.status();
    *slot = *std::move(made);
    return absl::OkStatus();
  }

  absl::Status StartUdp(const LoadOptions& options, runtime::EventLoopGroup* group,
                        const net::NewSessionCallback& configure) {
    if (options.size < kDatagramHeader) {
      return absl::InvalidArgumentError("udp load needs --size of at least 12 bytes");
    }
    if (options.udp_connected) {
      net::UdpClientOptions o;
      o.server = options.server;
      o.connections = options.connections;
      o.reconnect = false;
      o.receive_buffer_bytes = 4 << 20;
      o.new_session = configure;
      return Keep(net::UdpClient::Create(group, o), &udp_);
    }
    for (int i = 0; i < options.connections; ++i) {
      net::UdpEndpointOptions o;
      o.bind = InetAddress::Loopback(0, options.server.is_ipv6());
      o.receive_buffer_bytes = 4 << 20;
      o.new_session = configure;
      std::unique_ptr<net::UdpEndpoint> endpoint;
      if (absl::Status s = Keep(net::UdpEndpoint::Create(group, o), &endpoint); !s.ok()) {
        return s;
      }
      endpoints_.push_back(std::move(endpoint));
    }
    return absl::OkStatus();
  }

  std::unique_ptr<net::TcpClient> tcp_;
  std::unique_ptr<net::UdpClient> udp_;
  std::unique_ptr<net::WsClient> ws_;
  std::vector<std::unique_ptr<net::UdpEndpoint>> endpoints_;
};

}  // namespace

absl::StatusOr<LoadResult> RunLoad(const LoadOptions& options) {
  if (!options.server.valid()) return absl::InvalidArgumentError("no server address");
  if (options.size == 0 || options.depth < 1 || options.connections < 1) {
    return absl::InvalidArgumentError("size, depth and connections must be positive");
  }
  absl::StatusOr<std::unique_ptr<runtime::EventLoopGroup>> group =
      runtime::EventLoopGroup::Create(options.loops);
  if (!group.ok()) return group.status();
  auto listener = std::make_shared<LoadListener>(options);
  const int64_t start = runtime::EventLoop::MonotonicNs();
  const int64_t window_start = start + absl::ToInt64Nanoseconds(options.warmup);
  const int64_t window_end = window_start + absl::ToInt64Nanoseconds(options.duration);
  listener->SetWindow(window_start, window_end);
  LoadClients clients;
  if (absl::Status started = clients.Start(options, group->get(), listener); !started.ok()) {
    return started;
  }
  auto sleep_until = [](int64_t ns) {
    std::this_thread::sleep_until(
        std::chrono::steady_clock::time_point(std::chrono::nanoseconds(ns)));
  };
  sleep_until(window_start);
  if (options.on_window_start) options.on_window_start();
  sleep_until(window_end);
  if (options.on_window_end) options.on_window_end();
  listener->StopSending();
  clients.CloseAndWait();
  (*group)->Stop();
  LoadResult result = listener->Collect();
  if (result.connected == 0) {
    return absl::UnavailableError(
        absl::StrCat("no connection to ", options.server.ToString(), " succeeded"));
  }
  return result;
}

std::string FormatResult(const LoadOptions& o, const LoadResult& r) {
  return absl::StrFormat(
      "%s %s: %d connections x %d in flight x %d bytes, %.1f s\n"
      "  messages: %d (%.0f/s), throughput %.2f MB/s\n"
      "  latency: p50 %.1f us, p99 %.1f us, p99.9 %.1f us\n"
      "  errors: %d, lost (udp): %d\n"
      "RESULT proto=%s connections=%d size=%d depth=%d msgs_per_sec=%.0f mb_per_sec=%.2f "
      "p50_us=%.1f p99_us=%.1f p999_us=%.1f errors=%d lost=%d\n",
      LoadProtoName(o.proto), o.server.ToString(), o.connections, o.depth, o.size, r.seconds,
      r.messages, r.messages_per_second(), r.megabytes_per_second(), r.p50_us, r.p99_us, r.p999_us,
      r.errors, r.lost, LoadProtoName(o.proto), o.connections, o.size, o.depth,
      r.messages_per_second(), r.megabytes_per_second(), r.p50_us, r.p99_us, r.p999_us, r.errors,
      r.lost);
}

}  // namespace ringnet::examples
