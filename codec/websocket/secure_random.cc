#include "ringnet/codec/websocket/secure_random.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/random.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>

namespace ringnet::codec::websocket {
namespace {

constexpr size_t kPoolBytes = 256;

// Bumped in every child after fork(), so thread pools filled before the fork
// are discarded.
std::atomic<uint64_t> fork_generation{1};

void RegisterForkHandler() {
  static const bool registered = [] {
    pthread_atfork(nullptr, nullptr,
                   [] { fork_generation.fetch_add(1, std::memory_order_relaxed); });
    return true;
  }();
  (void)registered;
}

bool ReadUrandom(unsigned char* out, size_t len) {
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  size_t done = 0;
  while (done < len) {
    ssize_t n = read(fd, out + done, len - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  close(fd);
  return done == len;
}

// Last resort (no getrandom, no /dev/urandom): splitmix64 over the clock and an
// address.
void FillDegraded(unsigned char* out, size_t len) {
  static std::atomic<uint64_t> state{0};
  uint64_t seed =
      static_cast<uint64_t>(std::chrono::high_resolution_clock::now().time_since_epoch().count());
  seed ^= reinterpret_cast<uintptr_t>(&seed);
  for (size_t i = 0; i < len; i += 8) {
    uint64_t z = state.fetch_add(0x9E3779B97F4A7C15ull + seed, std::memory_order_relaxed);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    std::memcpy(out + i, &z, len - i < 8 ? len - i : 8);
  }
}

void FillFromKernel(unsigned char* out, size_t len) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = getrandom(out + done, len - done, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  if (done == len) return;
  if (!ReadUrandom(out + done, len - done)) FillDegraded(out + done, len - done);
}

struct Pool {
  unsigned char bytes[kPoolBytes] = {};
  size_t used = kPoolBytes;
  uint64_t generation = 0;
};

}  // namespace

void SecureRandomBytes(void* out, size_t len) {
  if (len == 0) return;
  unsigned char* dst = static_cast<unsigned char*>(out);
  if (len >= kPoolBytes / 4) {  // large requests bypass the pool
    FillFromKernel(dst, len);
    return;
  }
  RegisterForkHandler();
  thread_local Pool pool;
  const uint64_t generation = fork_generation.load(std::memory_order_relaxed);
  if (pool.generation != generation || kPoolBytes - pool.used < len) {
    FillFromKernel(pool.bytes, kPoolBytes);
    pool.used = 0;
    pool.generation = generation;
  }
  std::memcpy(dst, pool.bytes + pool.used, len);
  // Never hand out the same bytes twice.
  std::memset(pool.bytes + pool.used, 0, len);
  pool.used += len;
}

}  // namespace ringnet::codec::websocket
