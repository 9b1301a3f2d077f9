// The README's demo: shows the loop batching requests prepared by completion callbacks.
#include <cstdio>
#include <memory>
#include <vector>

#include "ringnet/runtime/event_loop.h"

namespace {

using ringnet::runtime::EventLoop;
using ringnet::runtime::Operation;

// A chain of NOPs: each completion prepares the next request of the chain.
class Chain final : public Operation {
 public:
  Chain(EventLoop* loop, int* remaining) : loop_(loop), remaining_(remaining) {}
  void Start() { loop_->SubmitNop(this); }
  void Complete(int32_t, uint32_t) override {
    if (--*remaining_ <= 0) {
      loop_->Stop();
    } else {
      Start();
    }
  }

 private:
  EventLoop* loop_;
  int* remaining_;
};

int RunChains(int chains, int total) {
  absl::StatusOr<std::unique_ptr<EventLoop>> loop = EventLoop::Create();
  if (!loop.ok()) {
    std::fprintf(stderr, "ringnet: %s\n", loop.status().ToString().c_str());
    return 1;
  }
  int remaining = total;
  std::vector<std::unique_ptr<Chain>> all;
  for (int i = 0; i < chains; ++i) all.push_back(std::make_unique<Chain>(loop->get(), &remaining));
  (*loop)->Post([&] {
    for (auto& c : all) c->Start();
  });
  if (absl::Status s = (*loop)->Run(); !s.ok()) return 1;
  const auto c = (*loop)->counters();
  std::printf("| %6d | %8d | %14llu | %14.4f |\n", chains, total,
              static_cast<unsigned long long>(c.enter_calls),
              static_cast<double>(c.enter_calls) / total);
  return 0;
}

}  // namespace

int main() {
  absl::StatusOr<std::unique_ptr<EventLoop>> probe = EventLoop::Create();
  if (!probe.ok()) {
    std::fprintf(stderr, "ringnet: %s\n", probe.status().ToString().c_str());
    return 1;
  }
  std::printf("ringnet runtime demo: io_uring ring mode %s\n\n",
              std::string(ringnet::runtime::RingModeName((*probe)->ring_mode())).c_str());
  std::printf("requests prepared from completion callbacks, in concurrent chains:\n\n");
  std::printf("| chains | requests | io_uring_enter | enters/request |\n");
  std::printf("|-------:|---------:|---------------:|---------------:|\n");
  for (int chains : {1, 16, 256}) {
    if (RunChains(chains, 100'000) != 0) return 1;
  }
  return 0;
}
