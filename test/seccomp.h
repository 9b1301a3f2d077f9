// Test helper: run code in a child process whose seccomp filter makes a system call fail.
//
// Used to reach the paths a production machine takes when io_uring is blocked (Docker's default
// seccomp profile, kernel.io_uring_disabled) without changing this machine's settings.
//
// Example:
//
//   int code = RunInChildWithSyscallBlocked(__NR_io_uring_setup, EPERM, [] {
//     return Ring::Create({}).status().code() == absl::StatusCode::kPermissionDenied ? 0 : 1;
//   });
//   EXPECT_EQ(code, 0);
#ifndef RINGNET_TEST_SECCOMP_H_
#define RINGNET_TEST_SECCOMP_H_

#include "absl/functional/function_ref.h"

namespace ringnet::testing {

// Forks; the child installs a seccomp filter that fails system call `syscall_nr` with `error`,
// runs `body` and exits with its return value. Returns the child's exit code, or -1 if it did
// not exit normally (or the filter could not be installed: -2).
int RunInChildWithSyscallBlocked(long syscall_nr, int error, absl::FunctionRef<int()> body);

}  // namespace ringnet::testing

#endif  // RINGNET_TEST_SECCOMP_H_
