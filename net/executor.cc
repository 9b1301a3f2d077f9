#include "ringnet/net/executor.h"

#include <utility>

namespace ringnet::net {

ThreadPoolExecutor::ThreadPoolExecutor(int threads) {
  if (threads < 1) threads = 1;
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Work(); });
}

ThreadPoolExecutor::~ThreadPoolExecutor() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  ready_.notify_all();
  for (auto& t : threads_) t.join();
}

void ThreadPoolExecutor::Execute(Task task) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(std::move(task));
  }
  ready_.notify_one();
}

void ThreadPoolExecutor::Work() {
  while (true) {
    Task task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left to run
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

void SerialExecutor::Execute(Executor::Task task) {
  bool start;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(std::move(task));
    start = !draining_;
    draining_ = true;
  }
  if (start) executor_->Execute([self = shared_from_this()] { self->Drain(); });
}

void SerialExecutor::Drain() {
  while (true) {
    Executor::Task task;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (queue_.empty()) {
        draining_ = false;
        return;
      }
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

}  // namespace ringnet::net
