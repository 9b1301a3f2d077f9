#include "ringnet/test/faults/fault_util.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ringnet/test/faults/netns.h"

namespace ringnet::faults {

bool Eventually(const std::function<bool()>& done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return done();
}

namespace {
char PatternByte(uint64_t at) { return static_cast<char>((at / 4) >> (8 * (at % 4))); }
}  // namespace

std::string CountingPattern(uint64_t offset, size_t n) {
  std::string out(n, '\0');
  for (size_t i = 0; i < n; ++i) out[i] = PatternByte(offset + i);
  return out;
}

int64_t PatternMismatch(uint64_t offset, absl::string_view bytes) {
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] != PatternByte(offset + i)) return static_cast<int64_t>(offset + i);
  }
  return -1;
}

void RssSampler::Start() {
  peak_.store(ResidentBytes(), std::memory_order_relaxed);
  running_.store(true, std::memory_order_relaxed);
  thread_ = std::thread([this] {
    while (running_.load(std::memory_order_relaxed)) {
      const int64_t now = ResidentBytes();
      if (now > peak_.load(std::memory_order_relaxed)) {
        peak_.store(now, std::memory_order_relaxed);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
}

void RssSampler::Stop() {
  if (!thread_.joinable()) return;
  running_.store(false, std::memory_order_relaxed);
  thread_.join();
  const int64_t now = ResidentBytes();
  if (now > peak_.load(std::memory_order_relaxed)) peak_.store(now, std::memory_order_relaxed);
}

absl::Status FaultListener::OnOpen(const net::SessionHandle& s) {
  std::lock_guard<std::mutex> lock(mutex_);
  sessions_.push_back(s);
  return absl::OkStatus();
}

void FaultListener::OnClose(const net::SessionHandle& s) {
  ClosedSession record{s.id(), absl::Now(), s.Stat()};
  std::lock_guard<std::mutex> lock(mutex_);
  for (const ClosedSession& c : closed_) {
    if (c.id == s.id()) ++double_closes_;
  }
  closed_.push_back(record);
}

void FaultListener::OnError(const net::SessionHandle&, const absl::Status& error) {
  std::lock_guard<std::mutex> lock(mutex_);
  errors_.push_back(error);
}

int FaultListener::opens() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int>(sessions_.size());
}

int FaultListener::closes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int>(closed_.size());
}

std::vector<net::SessionHandle> FaultListener::sessions() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return sessions_;
}

std::vector<ClosedSession> FaultListener::closed() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return closed_;
}

std::vector<absl::Status> FaultListener::errors() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return errors_;
}

std::string FaultListener::ErrorsText() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string text;
  for (const absl::Status& e : errors_) absl::StrAppend(&text, e.ToString(), "\n");
  return text;
}

bool FaultListener::HasError(absl::string_view text) const {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const absl::Status& e : errors_) {
    if (absl::StrContains(e.message(), text)) return true;
  }
  return false;
}

int FaultListener::double_closes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return double_closes_;
}

void PatternStreamer::OnCron(const net::SessionHandle& s) {
  for (int i = 0; i < pieces_per_tick_ && s.IsWritable(); ++i) {
    uint64_t offset;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      offset = sent_[s.id()];
    }
    absl::Status st = s.WriteBytes(CountingPattern(offset, piece_));
    if (!st.ok()) {
      if (!s.IsClosed()) write_failures_.fetch_add(1);
      return;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    sent_[s.id()] = offset + piece_;
  }
}

absl::Status PatternChecker::OnOpen(const net::SessionHandle& s) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    received_[s.id()] = 0;
  }
  return FaultListener::OnOpen(s);
}

void PatternChecker::OnCron(const net::SessionHandle& s) {
  if (ping_bytes_ > 0) (void)s.WriteBytes(std::string(ping_bytes_, 'p'));
}

void PatternChecker::OnMessage(const net::SessionHandle& s, net::Package& pkg,
                               const net::InetAddress&) {
  std::lock_guard<std::mutex> lock(mutex_);
  uint64_t& at = received_[s.id()];
  const int64_t bad = PatternMismatch(at, pkg.bytes());
  if (bad >= 0) {
    int64_t none = -1;
    mismatch_.compare_exchange_strong(none, bad);
  }
  at += pkg.size();
  total_.fetch_add(pkg.size());
}

uint64_t PatternChecker::received(const net::SessionHandle& s) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = received_.find(s.id());
  return it == received_.end() ? 0 : it->second;
}

}  // namespace ringnet::faults
