// //bench:udp_send: the experiment of getty's UDP notes, in one run.
//
// 100,000 datagrams of 64 and 1024 bytes to a receiver on loopback, timed for
//   (a) a sendto loop on an unconnected socket,
//   (b) a send loop on a connected socket,
//   (c) sendmmsg in batches of 64 (connected socket),
//   (d) a ringnet unconnected endpoint (equal-size datagrams to one peer leave as GSO sendmsg
//       SQEs of up to 64, all of an iteration in one submit),
//   (e) a ringnet connected session (the same, without an address),
//   (d'), (e') the same two with udp_gso=false: one send/sendmsg SQE per datagram, as the seed's
//       per-datagram experiment,
//   (f) sendmsg with UDP_SEGMENT (GSO), 64 datagrams per call (connected socket), on a plain
//       socket: the floor for (d) and (e).
// The seed measured connected UDP taking 2/13 less time than unconnected (a time ratio of
// 11/13 = 0.846); the table puts the plain and ringnet (one request per datagram) ratios next
// to it. GSO batches look the route up once per batch, so (e) / (d) says little about it.
//
//   bazel run -c opt //bench:udp_send -- [--rounds=5] [--count=100000]
//
// The receiver drains with recvmmsg on CPU 0; senders run on CPU 1; methods are interleaved
// round after round and the medians reported.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_format.h"
#include "ringnet/bench/server_process.h"
#include "ringnet/net/internal/udp_segment.h"
#include "ringnet/net/udp_client.h"
#include "ringnet/net/udp_endpoint.h"
#include "ringnet/runtime/event_loop_group.h"

ABSL_FLAG(int, count, 100000, "datagrams per run");
ABSL_FLAG(int, rounds, 5, "rounds (methods interleaved in each)");
ABSL_FLAG(int, receiver_cpu, 0, "CPU for the receiver (-1: no pinning)");
ABSL_FLAG(int, sender_cpu, 1, "CPU for the senders (-1: no pinning)");

namespace ringnet::bench {
namespace {

using net::InetAddress;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Drains a UDP socket on its own thread and counts what arrives.
class Receiver {
 public:
  Receiver() {
    fd_ = socket(AF_INET, SOCK_DGRAM, 0);
    int size = 64 << 20;
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
    address_ = InetAddress::Loopback(0);
    bind(fd_, address_.sockaddr(), address_.length());
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len);
    address_ = InetAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&ss), len);

    thread_ = std::thread([this] { Drain(); });
  }
  ~Receiver() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  const InetAddress& address() const { return address_; }
  uint64_t received() const { return received_.load(); }

 private:
  void Drain() {
    PinThisThread(absl::GetFlag(FLAGS_receiver_cpu));
    constexpr int kBatch = 256;
    static char buffers[kBatch][2048];
    mmsghdr msgs[kBatch];
    iovec iovs[kBatch];
    for (int i = 0; i < kBatch; ++i) {
      iovs[i] = {buffers[i], sizeof(buffers[i])};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_iov = &iovs[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    while (!stop_) {
      // Spins (MSG_DONTWAIT) on its own CPU: no wakeup per datagram burdens the senders.
      int n = recvmmsg(fd_, msgs, kBatch, MSG_DONTWAIT, nullptr);
      if (n > 0) received_ += static_cast<uint64_t>(n);
    }
  }

  int fd_;
  InetAddress address_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> received_{0};
  std::thread thread_;
};

// Each method sends `count` datagrams of `size` bytes to `to` and returns the nanoseconds taken.
using Method = std::function<int64_t(const InetAddress& to, int count, size_t size)>;

int64_t PlainSendto(const InetAddress& to, int count, size_t size) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  std::string payload(size, 'a');
  const int64_t start = NowNs();
  for (int i = 0; i < count; ++i) sendto(fd, payload.data(), size, 0, to.sockaddr(), to.length());
  const int64_t took = NowNs() - start;
  close(fd);
  return took;
}

int64_t PlainSend(const InetAddress& to, int count, size_t size) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  connect(fd, to.sockaddr(), to.length());
  std::string payload(size, 'b');
  const int64_t start = NowNs();
  for (int i = 0; i < count; ++i) send(fd, payload.data(), size, 0);
  const int64_t took = NowNs() - start;
  close(fd);
  return took;
}

int64_t PlainSendmmsg(const InetAddress& to, int count, size_t size) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  connect(fd, to.sockaddr(), to.length());
  std::string payload(size, 'c');
  constexpr int kBatch = 64;
  iovec iov{payload.data(), size};
  mmsghdr msgs[kBatch];
  for (auto& m : msgs) {
    m = {};
    m.msg_hdr.msg_iov = &iov;
    m.msg_hdr.msg_iovlen = 1;
  }
  const int64_t start = NowNs();
  for (int sent = 0; sent < count;) {
    int n = sendmmsg(fd, msgs, std::min(kBatch, count - sent), 0);
    if (n <= 0) break;
    sent += n;
  }
  const int64_t took = NowNs() - start;
  close(fd);
  return took;
}

// One sendmsg carries up to 64 datagrams of `size` bytes; the kernel cuts them apart (UDP GSO,
// Linux 4.18+). NaN if the kernel refuses it.
double PlainGsoNs(const InetAddress& to, int count, size_t size) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  connect(fd, to.sockaddr(), to.length());
  constexpr size_t kMaxPayload = 65507;  // the largest UDP payload over IPv4
  const int batch = static_cast<int>(std::min<size_t>(64, kMaxPayload / size));
  std::string payload(size * static_cast<size_t>(batch), 'f');
  net::internal::UdpSegmentControl control;
  const int64_t start = NowNs();
  bool refused = false;
  for (int sent = 0; sent < count;) {
    const int n = std::min(batch, count - sent);
    iovec iov{payload.data(), size * static_cast<size_t>(n)};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    net::internal::SetUdpSegment(&msg, &control, static_cast<uint16_t>(size));
    if (sendmsg(fd, &msg, 0) < 0) {
      refused = true;
      break;
    }
    sent += n;
  }
  const int64_t took = NowNs() - start;
  close(fd);
  return refused ? std::nan("") : static_cast<double>(took);
}

// A listener that only counts (the receiver is plain).
class Quiet : public net::EventListener {
  void OnMessage(const net::SessionHandle&, net::Package&, const InetAddress&) override {}
};

// Writes `count` datagrams from the session's loop thread, then waits until every send has
// completed (the session's bytes_out says so).
int64_t RingnetBurst(const net::SessionHandle& session, const InetAddress* to, int count,
                     size_t size) {
  const std::string payload(size, 'r');
  const uint64_t target = session.Stat().bytes_out + static_cast<uint64_t>(count) * size;
  std::atomic<int64_t> start{0};
  session.loop()->Post([&] {
    start = NowNs();
    for (int i = 0; i < count; ++i) {
      if (to != nullptr) {
        (void)session.WriteBytesTo(payload, *to);
      } else {
        (void)session.WriteBytes(payload);
      }
    }
  });
  while (session.Stat().bytes_out < target)
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  return NowNs() - start.load();
}

struct RingnetSenders {
  std::unique_ptr<runtime::EventLoopGroup> group;
  // [0]: default options (GSO batching on); [1]: udp_gso = false (one request per datagram).
  std::unique_ptr<net::UdpEndpoint> unconnected[2];
  std::unique_ptr<net::UdpClient> connected[2];
};

absl::StatusOr<RingnetSenders> StartRingnet(const InetAddress& receiver) {
  RingnetSenders r;
  auto group = runtime::EventLoopGroup::Create(1);
  if (!group.ok()) return group.status();
  r.group = *std::move(group);
  auto quiet = std::make_shared<Quiet>();
  for (int plain = 0; plain < 2; ++plain) {
    auto configure = [quiet, plain](net::SessionConfig& c) {
      c.listener = quiet;
      c.options.write_high_water = 1ull << 40;
      c.options.udp_gso = plain == 0;
      return absl::OkStatus();
    };
    net::UdpEndpointOptions e;
    e.bind = InetAddress::Loopback(0);
    e.new_session = configure;
    auto endpoint = net::UdpEndpoint::Create(r.group.get(), std::move(e));
    if (!endpoint.ok()) return endpoint.status();
    r.unconnected[plain] = *std::move(endpoint);
    net::UdpClientOptions c;
    c.server = receiver;
    c.new_session = configure;
    auto client = net::UdpClient::Create(r.group.get(), std::move(c));
    if (!client.ok()) return client.status();
    r.connected[plain] = *std::move(client);
    while (r.connected[plain]->session_count() == 0) std::this_thread::yield();
  }
  return r;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

int Main() {
  PinThisThread(absl::GetFlag(FLAGS_sender_cpu));
  const int count = absl::GetFlag(FLAGS_count);
  Receiver receiver;
  absl::StatusOr<RingnetSenders> ringnet = StartRingnet(receiver.address());
  if (!ringnet.ok()) {
    std::fprintf(stderr, "%s\n", ringnet.status().ToString().c_str());
    return 1;
  }
  const net::SessionHandle unconnected = ringnet->unconnected[0]->session();
  const net::SessionHandle connected = ringnet->connected[0]->Sessions().at(0);
  const net::SessionHandle unconnected_plain = ringnet->unconnected[1]->session();
  const net::SessionHandle connected_plain = ringnet->connected[1]->Sessions().at(0);
  const InetAddress to = receiver.address();
  const std::vector<std::pair<std::string, Method>> methods = {
      {"(a) sendto loop, unconnected", PlainSendto},
      {"(b) send loop, connected", PlainSend},
      {"(c) sendmmsg x64, connected", PlainSendmmsg},
      {"(d) ringnet, unconnected",
       [&](const InetAddress& t, int n, size_t s) { return RingnetBurst(unconnected, &t, n, s); }},
      {"(e) ringnet, connected",
       [&](const InetAddress&, int n, size_t s) { return RingnetBurst(connected, nullptr, n, s); }},
      {"(d') ringnet, unconnected, udp_gso=false",
       [&](const InetAddress& t, int n, size_t s) {
         return RingnetBurst(unconnected_plain, &t, n, s);
       }},
      {"(e') ringnet, connected, udp_gso=false",
       [&](const InetAddress&, int n, size_t s) {
         return RingnetBurst(connected_plain, nullptr, n, s);
       }},
  };
  // Not a Method: it may be refused (NaN), and it is a reference point, not one of the seed's.
  const std::string gso = "(f) sendmsg + UDP_SEGMENT (GSO) x64, connected";
  std::map<std::pair<std::string, size_t>, std::vector<double>> ms;
  for (size_t size : {size_t{64}, size_t{1024}}) {
    for (auto& [name, method] : methods) method(to, count / 10, size);  // warm-up
    PlainGsoNs(to, count / 10, size);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const uint64_t received_before = receiver.received();
  uint64_t sent = 0;
  const net::SessionStat unconnected_before = unconnected.Stat();
  const net::SessionStat connected_before = connected.Stat();
  for (int round = 0; round < absl::GetFlag(FLAGS_rounds); ++round) {
    for (size_t size : {size_t{64}, size_t{1024}}) {
      for (auto& [name, method] : methods) {
        ms[{name, size}].push_back(method(to, count, size) / 1e6);
        sent += static_cast<uint64_t>(count);
      }
      ms[{gso, size}].push_back(PlainGsoNs(to, count, size) / 1e6);
      sent += static_cast<uint64_t>(count);
    }
    std::fprintf(stderr, ".");
  }
  std::fprintf(stderr, "\n");
  std::printf("UDP send, %d datagrams per run to a receiver on loopback; medians of %d rounds\n\n",
              count, absl::GetFlag(FLAGS_rounds));
  std::printf(
      "| method | 64 B: ms per %dk | 64 B: datagrams/s | 1024 B: ms per %dk | 1024 B: datagrams/s "
      "|\n",
      count / 1000, count / 1000);
  std::printf("|---|---:|---:|---:|---:|\n");
  auto med = [&](const std::string& name, size_t size) { return Median(ms[{name, size}]); };
  std::vector<std::string> names;
  for (auto& [name, method] : methods) names.push_back(name);
  names.push_back(gso);
  for (const std::string& name : names) {
    std::printf("| %s | %.1f | %.0f | %.1f | %.0f |\n", name.c_str(), med(name, 64),
                count / (med(name, 64) / 1e3), med(name, 1024), count / (med(name, 1024) / 1e3));
  }
  std::printf("\n| ratio | 64 B | 1024 B |\n|---|---:|---:|\n");
  auto ratio = [&](const char* label, const std::string& a, const std::string& b) {
    std::printf("| %s | %.3f | %.3f |\n", label, med(a, 64) / med(b, 64),
                med(a, 1024) / med(b, 1024));
  };
  std::printf("| seed (getty notes, Python, 2017): connected / unconnected time | 0.846 | - |\n");
  ratio("plain: connected send / unconnected sendto time", methods[1].first, methods[0].first);
  ratio("ringnet, one request per datagram: connected / unconnected time (e' / d')",
        methods[6].first, methods[5].first);
  ratio("ringnet, GSO batches: connected / unconnected time (e / d)", methods[4].first,
        methods[3].first);
  ratio("plain send loop / ringnet connected time (speed-up)", methods[1].first, methods[4].first);
  ratio("sendmmsg / ringnet connected time (speed-up)", methods[2].first, methods[4].first);
  ratio("ringnet connected: GSO batches' speed-up (e' / e)", methods[6].first, methods[4].first);
  ratio("plain send loop / GSO time (speed-up GSO gives; nan: refused)", methods[1].first, gso);
  // How many send requests (SQEs) ringnet's datagrams took: GSO sends carry up to 64.
  auto per_request = [](const net::SessionStat& before, const net::SessionStat& after) {
    const uint64_t requests = after.send_requests - before.send_requests;
    return requests == 0 ? 0.0
                         : static_cast<double>(after.packages_out - before.packages_out) /
                               static_cast<double>(requests);
  };
  std::printf("\nringnet datagrams per send request: (d) unconnected %.1f, (e) connected %.1f\n",
              per_request(unconnected_before, unconnected.Stat()),
              per_request(connected_before, connected.Stat()));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::printf(
      "\nreceiver got %.1f%% of the datagrams (UDP drops what the receiver cannot keep up "
      "with; the senders' times do not depend on it)\n",
      100.0 * static_cast<double>(receiver.received() - received_before) /
          static_cast<double>(sent));
  return 0;
}

}  // namespace
}  // namespace ringnet::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return ringnet::bench::Main();
}
