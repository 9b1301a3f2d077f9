// Tests of IntrusiveQueue (the FIFO) and SlotPool (the owner of the nodes), in the ways the UDP
// send path moves slots: waiting, taken as a GSO run, put back in front, recycled, freed.
#include "ringnet/net/internal/intrusive_queue.h"

#include <memory>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "ringnet/net/internal/slot_pool.h"

namespace ringnet::net::internal {
namespace {

struct Node {
  explicit Node(int v = 0) : value(v) {}
  int value;
  Node* next = nullptr;
  size_t pool_index = 0;
};

// A node with its link under another name.
struct Hooked {
  int value = 0;
  Hooked* link = nullptr;
};

using Queue = IntrusiveQueue<Node>;

std::vector<int> Values(const Queue& queue) {
  std::vector<int> out;
  for (const Node& node : queue) out.push_back(node.value);
  return out;
}

// Nodes 0..n-1, kept alive by the test.
std::vector<std::unique_ptr<Node>> MakeNodes(int n) {
  std::vector<std::unique_ptr<Node>> nodes;
  for (int i = 0; i < n; ++i) nodes.push_back(std::make_unique<Node>(i));
  return nodes;
}

TEST(IntrusiveQueueTest, StartsEmpty) {
  Queue queue;
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(queue.size(), 0u);
  EXPECT_TRUE(queue.begin() == queue.end());
}

TEST(IntrusiveQueueTest, PushBackPopFrontIsFifo) {
  auto nodes = MakeNodes(3);
  Queue queue;
  for (auto& node : nodes) queue.PushBack(node.get());
  EXPECT_EQ(queue.size(), 3u);
  EXPECT_EQ(queue.front().value, 0);
  EXPECT_EQ(queue.back().value, 2);
  EXPECT_EQ(Values(queue), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(queue.PopFront()->value, 0);
  EXPECT_EQ(queue.PopFront()->value, 1);
  EXPECT_EQ(queue.size(), 1u);
  EXPECT_EQ(queue.PopFront()->value, 2);
  EXPECT_TRUE(queue.empty());
  // Empty again: the tail was reset, so pushing starts over.
  queue.PushBack(nodes[1].get());
  EXPECT_EQ(Values(queue), (std::vector<int>{1}));
  EXPECT_EQ(&queue.back(), nodes[1].get());
}

TEST(IntrusiveQueueTest, PopFrontClearsTheLink) {
  auto nodes = MakeNodes(2);
  Queue queue;
  queue.PushBack(nodes[0].get());
  queue.PushBack(nodes[1].get());
  EXPECT_EQ(queue.PopFront()->next, nullptr);
}

TEST(IntrusiveQueueTest, PushFrontPutsBeforeAndSetsTailWhenEmpty) {
  auto nodes = MakeNodes(3);
  Queue queue;
  queue.PushFront(nodes[1].get());
  EXPECT_EQ(&queue.back(), nodes[1].get());
  queue.PushFront(nodes[0].get());
  queue.PushBack(nodes[2].get());
  EXPECT_EQ(Values(queue), (std::vector<int>{0, 1, 2}));
}

TEST(IntrusiveQueueTest, TakeFrontSplitsInOrder) {
  auto nodes = MakeNodes(5);
  Queue queue;
  for (auto& node : nodes) queue.PushBack(node.get());
  Queue run = queue.TakeFront(3);
  EXPECT_EQ(Values(run), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(run.size(), 3u);
  EXPECT_EQ(run.back().value, 2);
  EXPECT_EQ(run.back().next, nullptr);  // the run ends where it was cut
  EXPECT_EQ(Values(queue), (std::vector<int>{3, 4}));
  EXPECT_EQ(queue.size(), 2u);
  // The rest still appends at its own tail.
  auto more = MakeNodes(6);
  queue.PushBack(more[5].get());
  EXPECT_EQ(Values(queue), (std::vector<int>{3, 4, 5}));
}

TEST(IntrusiveQueueTest, TakeFrontNoneOrAll) {
  auto nodes = MakeNodes(2);
  Queue queue;
  for (auto& node : nodes) queue.PushBack(node.get());
  Queue none = queue.TakeFront(0);
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(queue.size(), 2u);
  Queue all = queue.TakeFront(2);
  EXPECT_EQ(Values(all), (std::vector<int>{0, 1}));
  EXPECT_TRUE(queue.empty());
  EXPECT_TRUE(queue.begin() == queue.end());
  queue.PushBack(all.PopFront());  // the emptied queue works on
  EXPECT_EQ(Values(queue), (std::vector<int>{0}));
}

TEST(IntrusiveQueueTest, PrependAllPutsAChainBackInFront) {
  auto nodes = MakeNodes(5);
  Queue queue;
  for (auto& node : nodes) queue.PushBack(node.get());
  Queue run = queue.TakeFront(3);
  run.PopFront();  // the first is gone (an ICMP error took it)
  queue.PrependAll(std::move(run));
  EXPECT_TRUE(run.empty());  // NOLINT(bugprone-use-after-move): PrependAll empties it
  EXPECT_EQ(Values(queue), (std::vector<int>{1, 2, 3, 4}));
  EXPECT_EQ(queue.size(), 4u);
  EXPECT_EQ(queue.back().value, 4);
}

TEST(IntrusiveQueueTest, PrependAllIntoEmptySetsTheTail) {
  auto nodes = MakeNodes(3);
  Queue queue;
  for (auto& node : nodes) queue.PushBack(node.get());
  Queue run = queue.TakeFront(3);
  queue.PrependAll(std::move(run));
  EXPECT_EQ(Values(queue), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(queue.back().value, 2);
  auto more = MakeNodes(4);
  queue.PushBack(more[3].get());
  EXPECT_EQ(Values(queue), (std::vector<int>{0, 1, 2, 3}));
  Queue empty;
  queue.PrependAll(std::move(empty));  // nothing to put back
  EXPECT_EQ(queue.size(), 4u);
}

TEST(IntrusiveQueueTest, MoveHandsTheNodesOver) {
  auto nodes = MakeNodes(2);
  Queue queue;
  for (auto& node : nodes) queue.PushBack(node.get());
  Queue moved(std::move(queue));
  EXPECT_TRUE(queue.empty());  // NOLINT(bugprone-use-after-move): moving leaves it empty
  EXPECT_EQ(Values(moved), (std::vector<int>{0, 1}));
  queue = std::move(moved);
  EXPECT_EQ(Values(queue), (std::vector<int>{0, 1}));
}

TEST(IntrusiveQueueTest, IterationCanChangeTheNodes) {
  auto nodes = MakeNodes(3);
  Queue queue;
  for (auto& node : nodes) queue.PushBack(node.get());
  for (Node& node : queue) node.value *= 10;
  EXPECT_EQ(Values(queue), (std::vector<int>{0, 10, 20}));
  auto it = queue.begin();
  EXPECT_EQ((it++)->value, 0);
  EXPECT_EQ(it->value, 10);
}

TEST(IntrusiveQueueTest, OtherLinkMember) {
  Hooked a;
  Hooked b;
  a.value = 1;
  b.value = 2;
  IntrusiveQueue<Hooked, &Hooked::link> queue;
  queue.PushBack(&a);
  queue.PushBack(&b);
  EXPECT_EQ(a.link, &b);
  EXPECT_EQ(queue.PopFront()->value, 1);
  EXPECT_EQ(queue.PopFront()->value, 2);
}

TEST(SlotPoolTest, ReusesIdleObjectsMostRecentFirst) {
  SlotPool<Node> pool(/*max_idle=*/4);
  Node* a = pool.Take(1);
  Node* b = pool.Take(2);
  EXPECT_EQ(pool.size(), 2u);
  EXPECT_EQ(a->value, 1);
  pool.Recycle(a);
  pool.Recycle(b);
  EXPECT_EQ(pool.idle(), 2u);
  EXPECT_EQ(pool.Take(), b);  // no new object: the last one returned
  EXPECT_EQ(pool.Take(), a);
  EXPECT_EQ(pool.size(), 2u);
  EXPECT_EQ(pool.idle(), 0u);
}

TEST(SlotPoolTest, FreesBeyondTheIdleCap) {
  SlotPool<Node> pool(/*max_idle=*/2);
  std::vector<Node*> taken;
  for (int i = 0; i < 5; ++i) taken.push_back(pool.Take(i));
  EXPECT_EQ(pool.size(), 5u);
  // Out of order, so freeing moves other objects in the pool; each must stay findable.
  pool.Recycle(taken[1]);
  pool.Recycle(taken[3]);
  pool.Recycle(taken[0]);  // freed
  EXPECT_EQ(pool.size(), 4u);
  pool.Recycle(taken[4]);  // freed
  pool.Recycle(taken[2]);  // freed
  EXPECT_EQ(pool.size(), 2u);
  EXPECT_EQ(pool.idle(), 2u);
  Node* again = pool.Take();
  EXPECT_TRUE(again == taken[1] || again == taken[3]);
}

TEST(SlotPoolTest, ABurstShrinksBackAndFreesAllAtDestruction) {
  // Objects still taken when the pool goes are freed with it (ASan checks).
  SlotPool<Node> pool(/*max_idle=*/4);
  std::vector<Node*> taken;
  for (int i = 0; i < 1000; ++i) taken.push_back(pool.Take(i));
  for (int i = 0; i < 990; ++i) pool.Recycle(taken[i]);
  EXPECT_EQ(pool.size(), 14u);
  EXPECT_EQ(pool.idle(), 4u);
  for (int i = 990; i < 1000; ++i) EXPECT_EQ(taken[i]->value, i);
}

TEST(SlotPoolTest, ObjectsInAQueueStayOwnedByThePool) {
  SlotPool<Node> pool(/*max_idle=*/1);
  Queue waiting;
  for (int i = 0; i < 3; ++i) waiting.PushBack(pool.Take(i));
  Queue run = waiting.TakeFront(2);
  EXPECT_EQ(Values(run), (std::vector<int>{0, 1}));
  waiting.PrependAll(std::move(run));
  while (!waiting.empty()) pool.Recycle(waiting.PopFront());
  EXPECT_EQ(pool.size(), 1u);
  EXPECT_EQ(pool.idle(), 1u);
}

}  // namespace
}  // namespace ringnet::net::internal
