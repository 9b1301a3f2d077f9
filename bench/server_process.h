// ServerProcess: runs an echo server binary as a child process for a bench, optionally pinned to
// one CPU, and reads what the bench needs from it: the address from its "listening <proto>
// HOST:PORT" line, its CPU time (all threads, nanoseconds, from /proc/<pid>/task/*/schedstat),
// its resident memory and open descriptors, and the "stats k=v ..." line it prints on SIGTERM.
//
// A server may run under a wrapper that starts it as its only child (e.g. `perf stat ... --`):
// the wrapper is what is forked, the child is what is measured and signalled.
#ifndef RINGNET_BENCH_SERVER_PROCESS_H_
#define RINGNET_BENCH_SERVER_PROCESS_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ringnet/net/inet_address.h"

namespace ringnet::bench {

class ServerProcess {
 public:
  // Starts `argv` (argv[0] is the binary's path), pinned to `cpu` unless it is negative, and waits
  // for its "listening" line.
  static absl::StatusOr<std::unique_ptr<ServerProcess>> Start(const std::vector<std::string>& argv,
                                                              int cpu);
  // As above, for a server that `argv` runs under a wrapper (argv[0]) as the wrapper's child.
  static absl::StatusOr<std::unique_ptr<ServerProcess>> StartWrapped(
      const std::vector<std::string>& argv, int cpu);
  ~ServerProcess();

  const net::InetAddress& address() const { return address_; }
  // The server's pid (the wrapper's child when wrapped).
  pid_t pid() const { return server_pid_; }
  // CPU time used so far by all of the server's threads.
  int64_t CpuNs() const;
  // The server's resident set (VmRSS), in bytes; -1 if unreadable.
  int64_t RssBytes() const;
  // The server's open file descriptors; -1 if unreadable.
  int OpenFds() const;
  // SIGTERM, wait for exit; returns the key/values of its "stats" line (empty if none).
  std::map<std::string, uint64_t> Stop();

 private:
  ServerProcess() = default;
  static absl::StatusOr<std::unique_ptr<ServerProcess>> Launch(const std::vector<std::string>& argv,
                                                               int cpu, bool wrapped);
  pid_t pid_ = -1;         // the forked process
  pid_t server_pid_ = -1;  // the server: pid_, or pid_'s child when wrapped
  int stdout_fd_ = -1;
  net::InetAddress address_;
};

// Pins the calling thread (and threads it starts later) to `cpu`.
void PinThisThread(int cpu);

// The path of a binary that is a data dependency of the bench, e.g. "examples/echo_server".
std::string RunfilePath(const std::string& relative);

}  // namespace ringnet::bench

#endif  // RINGNET_BENCH_SERVER_PROCESS_H_
