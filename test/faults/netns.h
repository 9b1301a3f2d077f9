// Fault-injection helpers for test/faults: a network namespace of the test's own (so no rule, no
// qdisc and no packet leaves it), and the commands that break its loopback in controlled ways:
// nft rules (drop, reject with tcp reset), a tc tbf qdisc (a slow link), lo down/up.
//
// Every fault test starts with EnterNewNetNamespace() on the main thread, before it starts any
// event loop: the namespace is the calling thread's, and only the threads and processes it starts
// afterwards inherit it. The FaultTest fixture does this in SetUp and skips the test (with the
// reason) where the process may not create a namespace or a tool is missing.
#ifndef RINGNET_TEST_FAULTS_NETNS_H_
#define RINGNET_TEST_FAULTS_NETNS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"

namespace ringnet::faults {

// Moves the calling thread into a new network namespace (unshare(CLONE_NEWNET)) and brings its
// loopback up. Fails with PermissionDenied (EPERM: not root, or a sandbox that drops
// CAP_SYS_ADMIN) or the errno's status.
absl::Status EnterNewNetNamespace();

// Sets the loopback interface of the current namespace up or down (SIOCSIFFLAGS, no tool).
absl::Status SetLoopbackUp(bool up);

// Writes `value` to /proc/sys/<key> ("net/ipv4/tcp_wmem"). net.* keys are per namespace.
absl::Status WriteSysctl(absl::string_view key, absl::string_view value);

// Runs `command` with /bin/sh -c (with /usr/sbin and /sbin on PATH: Bazel's test PATH lacks
// them) and waits for it. Returns its stdout; a non-zero exit fails with Internal, naming the
// command, its exit code and its stderr. Safe while event loop threads run (posix_spawn).
absl::StatusOr<std::string> RunCommand(absl::string_view command);

// Whether `tool` (e.g. "nft") is found on that PATH.
bool HaveTool(absl::string_view tool);

// nft rules in a table of their own ("inet ringnet_faults", one output chain: on loopback every
// packet leaves through output once). The destructor deletes the table.
class NftTable {
 public:
  NftTable() = default;
  NftTable(const NftTable&) = delete;
  NftTable& operator=(const NftTable&) = delete;
  ~NftTable();

  // Creates the table and its chain.
  absl::Status Create();
  // Appends `rules` ("tcp dport 8080 drop") to the chain in one transaction (they take effect
  // together) and returns their handles.
  absl::StatusOr<std::vector<uint64_t>> AddRules(const std::vector<std::string>& rules);
  // Deletes rules by handle, in one transaction.
  absl::Status DeleteRules(const std::vector<uint64_t>& handles);
  // Every packet to or from TCP `port` is dropped (both directions, so neither side's segment
  // passes: no data, no ACK, no FIN, no RST).
  absl::StatusOr<std::vector<uint64_t>> DropTcpPort(uint16_t port);
  // Every segment to or from TCP `port` is dropped and answered with a RST to its sender: both
  // ends of every connection on the port are reset, and new connects are refused.
  absl::StatusOr<std::vector<uint64_t>> ResetTcpPort(uint16_t port);

 private:
  bool created_ = false;
};

// A tc token bucket on lo: `rate` ("8mbit"); lo's MTU is lowered to 1500 first so the bucket
// meters real-sized packets (with lo's 64 KiB MTU, one segment would be a whole burst). The
// destructor removes the qdisc.
class SlowLoopback {
 public:
  SlowLoopback() = default;
  SlowLoopback(const SlowLoopback&) = delete;
  SlowLoopback& operator=(const SlowLoopback&) = delete;
  ~SlowLoopback();

  absl::Status Start(absl::string_view rate);

 private:
  bool started_ = false;
};

// Open file descriptors of this process (entries of /proc/self/fd, less the one reading it).
int OpenFdCount();
// VmRSS of this process from /proc/self/status, in bytes (0 if unreadable).
int64_t ResidentBytes();

// Whether this build runs under a sanitizer whose allocator keeps freed memory (ASan's
// quarantine) or shadows it (TSan), so RSS says nothing about the program's own bound.
bool SanitizerBuild();

// Enters a new network namespace before the test body and skips the test when that is not
// allowed here, or when a tool the test needs (RequiredTools) is missing.
class FaultTest : public ::testing::Test {
 protected:
  void SetUp() override;
  // Tools the test runs (default: nft, tc, ip). A test using none returns {}.
  virtual std::vector<std::string> RequiredTools() const { return {"nft", "tc", "ip"}; }
};

}  // namespace ringnet::faults

#endif  // RINGNET_TEST_FAULTS_NETNS_H_
