#include "ringnet/net/internal/write_queue.h"

#include <cstring>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "ringnet/runtime/buffer_ring.h"
#include "ringnet/runtime/event_loop.h"

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

// A loop (never run) with its registry, and a user-space ring of 4 buffers of 4 KiB + 2 spares.
class LendingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<runtime::EventLoop>> loop = runtime::EventLoop::Create({});
    ASSERT_TRUE(loop.ok()) << loop.status();
    loop_ = *std::move(loop);
    registry_ = std::make_unique<LoopRegistry>(loop_.get());
    absl::StatusOr<std::unique_ptr<runtime::BufferRing>> ring =
        runtime::BufferRing::CreateUserSpace(0, 4, 4096, /*spares=*/2);
    ASSERT_TRUE(ring.ok()) << ring.status();
    ring_ = *std::move(ring);
  }

  // Takes a free buffer, fills it with `fill`, and opens the receive window over its first
  // `size` bytes, as a session does while it handles received bytes.
  char* Receive(char fill, size_t size) {
    id_ = static_cast<uint16_t>(ring_->Select());
    char* data = ring_->Take(id_);
    std::memset(data, fill, size);
    registry_->SetReceiving(ReceiveWindow{ring_.get(), id_, data, data + size});
    return data;
  }
  // Closes the window and drops the receiver's hold, as the session does after handling.
  void EndReceive() {
    registry_->SetReceiving(ReceiveWindow{});
    ring_->Release(id_);
  }

  std::unique_ptr<runtime::EventLoop> loop_;
  std::unique_ptr<LoopRegistry> registry_;
  std::unique_ptr<runtime::BufferRing> ring_;
  uint16_t id_ = 0;
};

TEST_F(LendingTest, LargeBytesInTheReceiveBufferAreSentFromItAndReleasedWhenSent) {
  WriteQueue q(registry_.get());
  char* data = Receive('a', 4096);
  q.Append(absl::string_view(data, 2048));         // into an empty queue: lent
  q.Append(absl::string_view(data + 2048, 2048));  // the next bytes: the same chunk
  q.Append("tail");                                // copied behind it
  q.Append(absl::string_view(data, 100));          // small: copied into the tail
  EndReceive();
  EXPECT_EQ(ring_->holds_made(), 1u);
  EXPECT_EQ(ring_->outstanding(), 1u);  // the queue still holds it
  iovec iov[8];
  size_t bytes = 0;
  const int n = q.Gather(iov, 8, &bytes);
  ASSERT_EQ(n, 2);
  EXPECT_EQ(iov[0].iov_base, data);
  EXPECT_EQ(iov[0].iov_len, 4096u);
  EXPECT_EQ(Flatten(iov, n), std::string(4096, 'a') + "tail" + std::string(100, 'a'));
  q.Consume(1000);  // partial: the buffer stays held
  EXPECT_EQ(ring_->outstanding(), 1u);
  EXPECT_EQ(q.Gather(iov, 8, &bytes), 2);
  EXPECT_EQ(iov[0].iov_base, data + 1000);
  q.Consume(bytes - 104);  // the lent bytes are sent: the buffer goes back
  EXPECT_EQ(ring_->outstanding(), 0u);
  EXPECT_EQ(q.size(), 104u);
}

TEST_F(LendingTest, DroppedQueuesReleaseTheirBuffersAndBytesOutsideTheWindowAreCopied) {
  std::string elsewhere(2048, 'z');
  {
    WriteQueue q(registry_.get());
    char* data = Receive('b', 4096);
    EXPECT_FALSE(q.CanLend(elsewhere));
    q.Append(absl::string_view(data, 2048));
    EndReceive();
    EXPECT_EQ(ring_->outstanding(), 1u);
  }  // destroyed unsent (a session closed with a full queue)
  EXPECT_EQ(ring_->outstanding(), 0u);
  EXPECT_EQ(ring_->holds_made(), 1u);
}

TEST_F(LendingTest, BytesJoiningAWaitingQueueAreCopied) {
  WriteQueue q(registry_.get());
  q.Append("waiting");
  char* data = Receive('f', 4096);
  EXPECT_FALSE(q.CanLend(absl::string_view(data, 4096)));
  q.Append(absl::string_view(data, 4096));
  EndReceive();
  EXPECT_EQ(ring_->holds_made(), 0u);
  EXPECT_EQ(ring_->outstanding(), 0u);
}

TEST_F(LendingTest, OnceTheSparesAreUsedUpBytesAreCopied) {
  WriteQueue q1(registry_.get()), q2(registry_.get()), q3(registry_.get());
  char* first = Receive('c', 4096);
  q1.Append(absl::string_view(first, 4096));
  EndReceive();
  char* second = Receive('d', 4096);
  q2.Append(absl::string_view(second, 4096));
  EndReceive();
  EXPECT_EQ(ring_->spares_left(), 0u);  // each lent buffer's place was taken by a spare
  char* third = Receive('e', 4096);
  EXPECT_FALSE(q3.CanLend(absl::string_view(third, 4096)));
  q3.Append(absl::string_view(third, 4096));  // copied
  EndReceive();
  EXPECT_EQ(ring_->holds_made(), 2u);
  EXPECT_EQ(ring_->outstanding(), 2u);
  char fill = 'c';
  for (WriteQueue* q : {&q1, &q2, &q3}) {
    iovec iov[8];
    size_t bytes = 0;
    const int n = q->Gather(iov, 8, &bytes);
    EXPECT_EQ(Flatten(iov, n), std::string(4096, fill++));
    q->Consume(bytes);
  }
  EXPECT_EQ(ring_->outstanding(), 0u);
  EXPECT_EQ(ring_->spares_left(), 2u);  // the ring was full again: they went back as spares
}

}  // namespace
}  // namespace ringnet::net::internal
