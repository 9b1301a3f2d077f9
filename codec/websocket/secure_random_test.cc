#include "ringnet/codec/websocket/secure_random.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <set>
#include <string>

#include "gtest/gtest.h"

namespace ringnet::codec::websocket {
namespace {

std::string Draw(size_t len) {
  std::string s(len, '\0');
  SecureRandomBytes(s.data(), s.size());
  return s;
}

TEST(SecureRandomTest, DrawsDiffer) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(Draw(16));
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(SecureRandomTest, LargeAndZeroLengthRequests) {
  SecureRandomBytes(nullptr, 0);
  std::string big = Draw(4096);
  EXPECT_NE(big, std::string(4096, '\0'));
}

TEST(SecureRandomTest, ForkedChildDoesNotRepeatTheParentsBytes) {
  Draw(4);  // fill this thread's pool
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::string child = Draw(16);
    ssize_t n = write(pipe_fds[1], child.data(), child.size());
    _exit(n == 16 ? 0 : 1);
  }
  std::string parent = Draw(16);
  char child[16];
  ASSERT_EQ(read(pipe_fds[0], child, sizeof(child)), 16);
  int status = 0;
  waitpid(pid, &status, 0);
  close(pipe_fds[0]);
  close(pipe_fds[1]);
  EXPECT_NE(parent, std::string(child, 16));
}

}  // namespace
}  // namespace ringnet::codec::websocket
