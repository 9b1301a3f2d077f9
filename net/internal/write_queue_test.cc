#include "ringnet/net/internal/write_queue.h"

#include <string>

#include "gtest/gtest.h"

namespace ringnet::net::internal {
namespace {

std::string Flatten(const iovec* iov, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out.append(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
  return out;
}

TEST(WriteQueueTest, SmallWritesCoalesceIntoOneBuffer) {
  WriteQueue q(nullptr);
  for (int i = 0; i < 100; ++i) q.Append("abc");
  iovec iov[16];
  size_t bytes = 0;
  EXPECT_EQ(q.Gather(iov, 16, &bytes), 1);
  EXPECT_EQ(bytes, 300u);
  q.Consume(300);
  EXPECT_TRUE(q.empty());
}

TEST(WriteQueueTest, WritesDuringASendGoToANewBufferAndPartialSendsResume) {
  WriteQueue q(nullptr);
  q.Append("hello ");
  iovec iov[16];
  size_t bytes = 0;
  ASSERT_EQ(q.Gather(iov, 16, &bytes), 1);
  const char* frozen = static_cast<const char*>(iov[0].iov_base);
  q.Append("world");  // must not touch the buffer in flight
  EXPECT_EQ(std::string(frozen, 6), "hello ");
  q.Consume(2);  // partial send
  EXPECT_EQ(q.size(), 9u);
  int n = q.Gather(iov, 16, &bytes);
  EXPECT_EQ(n, 2);
  EXPECT_EQ(Flatten(iov, n), "llo world");
  q.Consume(9);
  EXPECT_TRUE(q.empty());
}

TEST(WriteQueueTest, LargeOwnedWritesAreNotCopiedAndIovIsBounded) {
  WriteQueue q(nullptr);
  std::string big(1 << 20, 'x');
  const char* data = big.data();
  q.AppendOwned(std::move(big));
  iovec iov[2];
  size_t bytes = 0;
  ASSERT_EQ(q.Gather(iov, 2, &bytes), 1);
  EXPECT_EQ(iov[0].iov_base, data);
  for (int i = 0; i < 5; ++i) q.AppendOwned(std::string(WriteQueue::kCoalesceLimit, 'a' + i));
  q.Consume(1 << 20);
  EXPECT_EQ(q.Gather(iov, 2, &bytes), 2);
  EXPECT_EQ(bytes, 2 * WriteQueue::kCoalesceLimit);
  q.Consume(bytes);
  EXPECT_EQ(q.size(), 3 * WriteQueue::kCoalesceLimit);
}

TEST(WriteQueueTest, AppendWithCountsWhatTheEncoderAppended) {
  WriteQueue q(nullptr);
  bool ok = q.AppendWith(4, [](std::string* out) {
    out->append("1234");
    return true;
  });
  EXPECT_TRUE(ok);
  q.AppendWith(4, [](std::string*) { return false; });  // appends nothing
  EXPECT_EQ(q.size(), 4u);
}

}  // namespace
}  // namespace ringnet::net::internal
