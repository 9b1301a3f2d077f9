#include "ringnet/runtime/buffer_ring.h"

#include <unistd.h>

#include <cstring>
#include <functional>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "ringnet/runtime/event_loop.h"
#include "ringnet/runtime/io_uring_backend.h"

namespace ringnet::runtime {
namespace {

// Reads from a pipe into buffers the kernel selects from a two-buffer ring; a read that finds
// the ring empty waits for its turn and reads again when woken, as sessions do.
class SelectingReader final : public Operation, private BufferRing::Waiter {
 public:
  SelectingReader(EventLoop* loop, BufferRing* buffers, int fd)
      : loop_(loop), buffers_(buffers), fd_(fd) {}
  ~SelectingReader() { buffers_->CancelWait(this); }

  void Read() {
    SubmitSqe(*loop_, this, [&](io_uring_sqe* sqe) {
      io_uring_prep_read(sqe, fd_, nullptr, buffers_->buffer_size(), 0);
      sqe->flags |= IOSQE_BUFFER_SELECT;
      sqe->buf_group = buffers_->group_id();
    });
  }

  void Complete(int32_t result, uint32_t flags) override {
    if (result == -ENOBUFS) {
      buffers_->Wait(this);
      ++no_buffers;
    } else if (result > 0 && BufferRing::HasBuffer(flags)) {
      uint16_t id = BufferRing::BufferId(flags);
      data.push_back(std::string(buffers_->Take(id), result));
      ids.push_back(id);
    }
    if (++completions == expected) done.set_value();
  }

  std::vector<std::string> data;
  std::vector<uint16_t> ids;
  int no_buffers = 0;
  int completions = 0;
  int expected = 0;
  std::promise<void> done;

 private:
  void OnBuffersFree() override { Read(); }

  EventLoop* loop_;
  BufferRing* buffers_;
  int fd_;
};

TEST(BufferRingTest, RejectsBadGeometry) {
  absl::StatusOr<std::unique_ptr<Ring>> ring = Ring::Create({});
  ASSERT_TRUE(ring.ok());
  EXPECT_EQ(BufferRing::Create(**ring, 0, 3, 64).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(BufferRing::Create(**ring, 0, 0, 64).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(BufferRing::Create(**ring, 0, 4, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(BufferRingTest, BuffersOfAnOddSizeAreStillAligned) {
  RingOptions options;
  options.best_mode = RingMode::kCoopTaskrun;
  absl::StatusOr<std::unique_ptr<Ring>> ring = Ring::Create(options);
  ASSERT_TRUE(ring.ok());
  absl::StatusOr<std::unique_ptr<BufferRing>> br = BufferRing::Create(**ring, 3, 8, 1001);
  ASSERT_TRUE(br.ok()) << br.status();
  for (uint16_t id = 0; id < 8; ++id) {
    EXPECT_EQ(reinterpret_cast<uintptr_t>((*br)->Data(id)) % 64, 0u) << id;
  }
  EXPECT_EQ((*br)->buffer_size(), 1001u);
}

TEST(BufferRingTest, ExhaustionIsReportedAndRecyclingRecovers) {
  EventLoopOptions options;
  options.backend = Backend::kIoUring;  // raw SQEs with kernel buffer selection
  options.buffers_per_ring = 2;
  absl::StatusOr<std::unique_ptr<EventLoop>> created = EventLoop::Create(options);
  ASSERT_TRUE(created.ok());
  EventLoop& loop = **created;
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const std::string chunk(64, 'x');
  for (int i = 0; i < 3; ++i) ASSERT_EQ(write(fds[1], chunk.data(), chunk.size()), 64);

  std::unique_ptr<SelectingReader> reader;
  BufferRing* buffers = nullptr;
  std::promise<void> setup;
  std::thread thread([&] { ASSERT_TRUE(loop.Run().ok()); });
  loop.Post([&] {
    absl::StatusOr<BufferRing*> br = loop.GetBufferRing(64);
    ASSERT_TRUE(br.ok()) << br.status();
    buffers = *br;
    EXPECT_EQ(*loop.GetBufferRing(64), buffers);  // one ring per size
    reader = std::make_unique<SelectingReader>(&loop, buffers, fds[0]);
    reader->expected = 3;
    for (int i = 0; i < 3; ++i) reader->Read();
    setup.set_value();
  });
  setup.get_future().wait();
  reader->done.get_future().wait();

  std::promise<void> recovered;
  loop.Post([&] {
    EXPECT_EQ(reader->data.size(), 2u);
    EXPECT_EQ(reader->no_buffers, 1);
    EXPECT_EQ(buffers->exhaustions(), 1u);
    EXPECT_EQ(buffers->outstanding(), 2u);
    // Nothing is free: the read waits. Give one buffer back: it is woken at the end of this
    // iteration and succeeds with it.
    EXPECT_EQ(buffers->waiters(), 1u);
    buffers->Recycle(reader->ids[0]);
    reader->done = std::promise<void>();
    reader->expected = 4;
    recovered.set_value();
  });
  recovered.get_future().wait();
  reader->done.get_future().wait();
  std::promise<void> checked;
  loop.Post([&] {
    EXPECT_EQ(reader->data.size(), 3u);
    EXPECT_EQ(reader->data.back(), chunk);
    EXPECT_EQ(reader->ids.back(), reader->ids[0]);
    EXPECT_EQ(buffers->waiters(), 0u);
    for (size_t i = 1; i < reader->ids.size(); ++i) buffers->Recycle(reader->ids[i]);
    EXPECT_EQ(buffers->outstanding(), 0u);
    checked.set_value();
  });
  checked.get_future().wait();
  loop.Stop();
  thread.join();
  close(fds[0]);
  close(fds[1]);
}

// Runs `fn` on the loop's thread and waits for it.
void RunOn(EventLoop& loop, const std::function<void()>& fn) {
  std::promise<void> ran;
  loop.Post([&] {
    fn();
    ran.set_value();
  });
  ran.get_future().wait();
}

// Lent buffers are replaced by spares, so receives keep the whole ring; once the spares are out
// lending stops (CanLend), and buffers coming back refill the ring before the spares.
TEST(BufferRingTest, SparesTakeThePlaceOfLentBuffers) {
  EventLoopOptions options;
  options.backend = Backend::kIoUring;
  options.buffers_per_ring = 2;
  options.spare_buffers_per_ring = 2;
  absl::StatusOr<std::unique_ptr<EventLoop>> created = EventLoop::Create(options);
  ASSERT_TRUE(created.ok());
  EventLoop& loop = **created;
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const std::string chunk(64, 'y');
  for (int i = 0; i < 6; ++i) ASSERT_EQ(write(fds[1], chunk.data(), chunk.size()), 64);
  std::unique_ptr<SelectingReader> reader;
  BufferRing* buffers = nullptr;
  std::thread thread([&] { ASSERT_TRUE(loop.Run().ok()); });
  // On the loop thread: the next `n` completions will fulfil the returned future.
  auto expect = [&](int n) {
    reader->done = std::promise<void>();
    reader->expected = reader->completions + n;
    return reader->done.get_future();
  };
  // Read `n` chunks, and wait for their completions.
  auto read = [&](int n) {
    std::future<void> done;
    RunOn(loop, [&] {
      done = expect(n);
      for (int i = 0; i < n; ++i) reader->Read();
    });
    done.wait();
  };
  RunOn(loop, [&] {
    buffers = *loop.GetBufferRing(64);
    reader = std::make_unique<SelectingReader>(&loop, buffers, fds[0]);
  });
  read(2);
  RunOn(loop, [&] {
    ASSERT_EQ(reader->ids.size(), 2u);
    for (uint16_t id : reader->ids) {
      EXPECT_TRUE(buffers->CanLend(id));
      buffers->Hold(id);     // lent: a spare goes into the ring
      buffers->Release(id);  // the receiver is done with it
    }
    EXPECT_EQ(buffers->spares_left(), 0u);
    EXPECT_EQ(buffers->outstanding(), 2u);
  });
  read(2);  // the spares receive
  RunOn(loop, [&] {
    ASSERT_EQ(reader->ids.size(), 4u);
    EXPECT_EQ(reader->no_buffers, 0);
    EXPECT_GE(reader->ids[2], 2);
    EXPECT_GE(reader->ids[3], 2);
    EXPECT_FALSE(buffers->CanLend(reader->ids[2]));  // no spare left to replace it
  });
  read(1);  // every buffer is out now: the read waits for its turn
  std::future<void> woken;
  RunOn(loop, [&] {
    EXPECT_EQ(reader->no_buffers, 1);
    EXPECT_EQ(buffers->waiters(), 1u);
    // The two lent buffers come back: they refill the ring, and the waiting read is woken.
    woken = expect(1);
    buffers->Release(reader->ids[0]);
    buffers->Release(reader->ids[1]);
    EXPECT_EQ(buffers->spares_left(), 0u);
  });
  woken.wait();
  RunOn(loop, [&] {
    ASSERT_EQ(reader->ids.size(), 5u);
    EXPECT_EQ(reader->data.back(), chunk);
    // The rest: the ring is full again (one refilled buffer unused, one just received and
    // given back), so two of them become spares again.
    for (size_t i = 2; i < reader->ids.size(); ++i) buffers->Recycle(reader->ids[i]);
    EXPECT_EQ(buffers->outstanding(), 0u);
    EXPECT_EQ(buffers->spares_left(), 2u);
    EXPECT_EQ(buffers->holds_made(), 2u);
  });
  loop.Stop();
  thread.join();
  close(fds[0]);
  close(fds[1]);
}

// A receiver that records when it is woken, and can starve again at once.
class RecordingWaiter final : public BufferRing::Waiter {
 public:
  RecordingWaiter(std::vector<int>* woken, int name) : woken_(woken), name_(name) {}
  void OnBuffersFree() override {
    woken_->push_back(name_);
    if (starve_again != nullptr) starve_again->Wait(this);
  }
  BufferRing* starve_again = nullptr;

 private:
  std::vector<int>* woken_;
  int name_;
};

// Starved receivers wait in order and are woken while buffers are free, at most wake_limit() at
// a time: the limit halves after exhaustions and doubles after a quiet turn. A waiter queued
// twice is queued once; a cancelled one is never woken.
TEST(BufferRingTest, StarvedReceiversAreWokenInTurnWithinAnAdaptiveLimit) {
  absl::StatusOr<std::unique_ptr<BufferRing>> created =
      BufferRing::CreateUserSpace(/*group_id=*/0, /*count=*/8, /*size=*/64);
  ASSERT_TRUE(created.ok());
  BufferRing& ring = **created;
  std::vector<int> woken;
  std::vector<std::unique_ptr<RecordingWaiter>> waiters;
  for (int i = 0; i < 12; ++i) waiters.push_back(std::make_unique<RecordingWaiter>(&woken, i));
  EXPECT_EQ(ring.WakeWaiters(), 0u);  // nobody waits
  EXPECT_EQ(ring.wake_limit(), 8u);

  for (int i = 0; i < 12; ++i) ring.Wait(waiters[i].get());
  ring.Wait(waiters[0].get());  // counted, not queued again
  EXPECT_EQ(ring.exhaustions(), 13u);
  EXPECT_EQ(ring.waiters(), 12u);
  ring.CancelWait(waiters[1].get());
  ring.CancelWait(waiters[1].get());  // no-op
  EXPECT_FALSE(ring.IsWaiting(waiters[1].get()));
  EXPECT_EQ(ring.waiters(), 11u);

  // Exhaustions since the last wake: the limit halves to 4; the oldest four go first.
  EXPECT_EQ(ring.WakeWaiters(), 4u);
  EXPECT_EQ(ring.wake_limit(), 4u);
  EXPECT_EQ(woken, (std::vector<int>{0, 2, 3, 4}));
  EXPECT_FALSE(ring.IsWaiting(waiters[0].get()));
  // Woken 0 starves again: it queues behind the others, and the limit halves again.
  waiters[0]->starve_again = nullptr;
  ring.Wait(waiters[0].get());
  woken.clear();
  EXPECT_EQ(ring.WakeWaiters(), 2u);
  EXPECT_EQ(woken, (std::vector<int>{5, 6}));
  // Quiet turns: the limit doubles each time (up to the ring's count).
  woken.clear();
  EXPECT_EQ(ring.WakeWaiters(), 4u);
  EXPECT_EQ(woken, (std::vector<int>{7, 8, 9, 10}));
  woken.clear();
  EXPECT_EQ(ring.WakeWaiters(), 2u);
  EXPECT_EQ(ring.wake_limit(), 8u);
  EXPECT_EQ(woken, (std::vector<int>{11, 0}));
  EXPECT_EQ(ring.waiters(), 0u);

  // No free buffer: nobody is woken (re-arming would only fail again), until one comes back.
  std::vector<uint16_t> taken;
  for (int32_t id = ring.Select(); id >= 0; id = ring.Select()) {
    ring.Take(static_cast<uint16_t>(id));
    taken.push_back(static_cast<uint16_t>(id));
  }
  ring.Wait(waiters[3].get());
  EXPECT_EQ(ring.WakeWaiters(), 0u);
  EXPECT_TRUE(ring.IsWaiting(waiters[3].get()));
  ring.Recycle(taken.back());
  woken.clear();
  EXPECT_EQ(ring.WakeWaiters(), 1u);
  EXPECT_EQ(woken, (std::vector<int>{3}));

  // A waiter that starves again as it is woken is not woken twice in one turn.
  waiters[5]->starve_again = &ring;
  ring.Wait(waiters[5].get());
  woken.clear();
  EXPECT_EQ(ring.WakeWaiters(), 1u);
  EXPECT_TRUE(ring.IsWaiting(waiters[5].get()));
  ring.CancelWait(waiters[5].get());
}

}  // namespace
}  // namespace ringnet::runtime
