// Builds against ringnet as an external repository and runs one loop: a posted task and a timer.
#include <cstdio>
#include <thread>

#include "absl/time/time.h"
#include "net/greeting.h"
#include "ringnet/runtime/event_loop.h"

int main() {
  absl::StatusOr<std::unique_ptr<ringnet::runtime::EventLoop>> loop =
      ringnet::runtime::EventLoop::Create();
  if (!loop.ok()) {
    std::fprintf(stderr, "cannot create loop: %s\n", loop.status().ToString().c_str());
    return 1;
  }
  ringnet::runtime::EventLoop* l = loop->get();
  int steps = 0;
  l->Post([&] {
    ++steps;
    l->RunAfter(absl::Milliseconds(1), [&] {
      ++steps;
      l->Stop();
    });
  });
  absl::Status run = l->Run();
  if (!run.ok() || steps != 2) {
    std::fprintf(stderr, "loop failed: %s, steps=%d\n", run.ToString().c_str(), steps);
    return 1;
  }
  std::printf("%s: ringnet loop ran (%s ring), ok\n", Greeting(),
              std::string(ringnet::runtime::RingModeName(l->ring_mode())).c_str());
  return 0;
}
