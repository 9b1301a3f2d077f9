#include "ringnet/examples/load_client.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "ringnet/examples/latency_histogram.h"
#include "ringnet/net/tcp_client.h"
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

// The sender and checker of one session. Touched only on the session's loop thread.
struct Connection {
  SessionHandle session;
  std::vector<int64_t> sent_at;  // ring of `depth` send times
  uint64_t next_send = 0;
  uint64_t stream_offset = 0;    // stream protocols: bytes received so far
  uint64_t next_message = 0;     // message protocols: next expected message index
  LatencyHistogram* histogram = nullptr;
  uint64_t completed = 0;
  uint64_t all_completed = 0;
  uint64_t bytes = 0;
  uint64_t errors = 0;
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
    conn->histogram = &ThreadHistogram();
    Connection* raw = conn.get();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      connections_.push_back(std::move(conn));
    }
    ThreadConnections()[s.id()] = raw;
    for (int i = 0; i < options_.depth; ++i) Send(*raw);
    return absl::OkStatus();
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
    if (options_.proto == LoadProto::kTcp) {
      OnStreamBytes(c, pkg.bytes());
    } else {
      OnWholeMessage(c, pkg.bytes());
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
  std::vector<std::unique_ptr<Connection>> connections_;   // guarded by mutex_
  std::vector<std::unique_ptr<LatencyHistogram>> histograms_;  // guarded by mutex_
};

// Starts the load's client endpoint; returns what closes it and waits for it.
absl::StatusOr<std::function<void()>> StartClient(const LoadOptions& options,
                                                  runtime::EventLoopGroup* group,
                                                  std::shared_ptr<LoadListener> listener) {
  net::TcpClientOptions tcp;
  tcp.server = options.server;
  tcp.connections = options.connections;
  tcp.reconnect = false;
  tcp.new_session = [listener](net::SessionConfig& c) {
    c.listener = listener;
    c.options.write_high_water = 1ull << 40;  // the load is bounded by depth, not by the queue
    c.options.max_msg_len = std::max<size_t>(c.options.max_msg_len, 2 * listener->size());
    return absl::OkStatus();
  };
  if (options.proto == LoadProto::kWebSocket) {
    net::WsClientOptions ws;
    static_cast<net::TcpClientOptions&>(ws) = std::move(tcp);
    ws.url = absl::StrCat("ws://", options.server.ToString(), options.ws_path);
    absl::StatusOr<std::unique_ptr<net::WsClient>> client =
        net::WsClient::Create(group, std::move(ws));
    if (!client.ok()) return client.status();
    return [client = std::shared_ptr<net::WsClient>(*std::move(client))] {
      client->Close();
      client->WaitClosed(absl::Seconds(5));
    };
  }
  absl::StatusOr<std::unique_ptr<net::TcpClient>> client =
      net::TcpClient::Create(group, std::move(tcp));
  if (!client.ok()) return client.status();
  return [client = std::shared_ptr<net::TcpClient>(*std::move(client))] {
    client->Close();
    client->WaitClosed(absl::Seconds(5));
  };
}

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

absl::StatusOr<LoadResult> RunLoad(const LoadOptions& options) {
  if (!options.server.valid()) return absl::InvalidArgumentError("no server address");
  if (options.size == 0 || options.depth < 1 || options.connections < 1) {
    return absl::InvalidArgumentError("size, depth and connections must be positive");
  }
  if (options.proto == LoadProto::kUdp) {
    return absl::UnimplementedError(
        absl::StrCat("load over ", LoadProtoName(options.proto), " is not available yet"));
  }
  absl::StatusOr<std::unique_ptr<runtime::EventLoopGroup>> group =
      runtime::EventLoopGroup::Create(options.loops);
  if (!group.ok()) return group.status();
  auto listener = std::make_shared<LoadListener>(options);
  const int64_t start = runtime::EventLoop::MonotonicNs();
  const int64_t window_start = start + absl::ToInt64Nanoseconds(options.warmup);
  const int64_t window_end = window_start + absl::ToInt64Nanoseconds(options.duration);
  listener->SetWindow(window_start, window_end);

  absl::StatusOr<std::function<void()>> close_client = StartClient(options, group->get(), listener);
  if (!close_client.ok()) return close_client.status();

  auto sleep_until = [](int64_t ns) {
    std::this_thread::sleep_until(std::chrono::steady_clock::time_point(std::chrono::nanoseconds(ns)));
  };
  sleep_until(window_start);
  if (options.on_window_start) options.on_window_start();
  sleep_until(window_end);
  if (options.on_window_end) options.on_window_end();
  listener->StopSending();
  (*close_client)();
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
      "  errors: %d\n"
      "RESULT proto=%s connections=%d size=%d depth=%d msgs_per_sec=%.0f mb_per_sec=%.2f "
      "p50_us=%.1f p99_us=%.1f p999_us=%.1f errors=%d lost=%d\n",
      LoadProtoName(o.proto), o.server.ToString(), o.connections, o.depth, o.size, r.seconds,
      r.messages, r.messages_per_second(), r.megabytes_per_second(), r.p50_us, r.p99_us,
      r.p999_us, r.errors, LoadProtoName(o.proto), o.connections, o.size, o.depth,
      r.messages_per_second(), r.megabytes_per_second(), r.p50_us, r.p99_us, r.p999_us, r.errors,
      r.lost);
}

}  // namespace ringnet::examples
