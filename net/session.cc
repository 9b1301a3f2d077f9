#include "ringnet/net/session.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "ringnet/net/internal/session_shared.h"
#include "ringnet/runtime/event_loop.h"

namespace ringnet::net {

using internal::SessionCore;
using internal::SessionShared;

absl::string_view SessionKindName(SessionKind kind) {
  switch (kind) {
    case SessionKind::kTcp:
      return "tcp";
    case SessionKind::kUdp:
      return "udp";
    case SessionKind::kUdpConnected:
      return "udp-connected";
    case SessionKind::kWebSocket:
      return "websocket";
    case SessionKind::kUdpPeer:
      return "udp-peer";
  }
  return "unknown";
}

absl::Status EventListener::OnOpen(const SessionHandle&) { return absl::OkStatus(); }
void EventListener::OnClose(const SessionHandle&) {}
void EventListener::OnError(const SessionHandle&, const absl::Status&) {}
void EventListener::OnCron(const SessionHandle&) {}
void EventListener::OnWritabilityChanged(const SessionHandle&, bool) {}

namespace internal {

SessionHandle SessionAccess::MakeHandle(std::shared_ptr<SessionShared> shared) {
  return SessionHandle(std::move(shared));
}

const std::shared_ptr<SessionShared>& SessionAccess::Shared(const SessionHandle& h) {
  return h.shared_;
}

}  // namespace internal

namespace {

absl::Status EmptyHandle() {
  return absl::FailedPreconditionError("empty SessionHandle: it names no session");
}

absl::Status CheckDestination(const SessionShared& s, const InetAddress* to) {
  if (s.kind == SessionKind::kUdp && to == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "session ", s.id,
        ": unconnected UDP write needs a destination (destination address required); use "
        "WritePkgTo/WriteBytesTo"));
  }
  if (s.kind != SessionKind::kUdp && to != nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("session ", s.id, " (", SessionKindName(s.kind),
                     "): write to an explicit address on a connected session (use of WriteTo with "
                     "pre-connected connection)"));
  }
  if (to != nullptr && !to->valid()) {
    return absl::InvalidArgumentError(
        absl::StrCat("session ", s.id, ": destination address is unspecified"));
  }
  return absl::OkStatus();
}

bool IsDatagramKind(SessionKind kind) {
  return kind == SessionKind::kUdp || kind == SessionKind::kUdpConnected ||
         kind == SessionKind::kUdpPeer;
}

// UDP: a datagram larger than max_datagram never leaves (checked again after encoding).
absl::Status CheckDatagramSize(const SessionShared& s, size_t size) {
  const size_t limit = s.datagram_limit();
  if (limit == 0 || size <= limit) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("udp session ", s.id, ": datagram of ", size,
                                                 " bytes exceeds max_datagram ", limit));
}

// Runs a write on the loop thread now, or reserves its bytes and posts it there.
template <typename Direct, typename MakePosted>
absl::Status DispatchWrite(const std::shared_ptr<SessionShared>& s, const InetAddress* to,
                           size_t size, Direct direct, MakePosted make_posted) {
  if (s == nullptr) return EmptyHandle();
  if (absl::Status ok = CheckDestination(*s, to); !ok.ok()) return ok;
  if (absl::Status ok = CheckDatagramSize(*s, size); !ok.ok()) return ok;
  if (s->loop->IsInLoopThread()) {
    if (s->core == nullptr) return internal::SessionClosedError(s->id);
    return direct(*s->core);
  }
  if (s->closing.load(std::memory_order_acquire)) return internal::SessionClosedError(s->id);
  const int64_t n = static_cast<int64_t>(size);
  if (!s->Reserve(n)) {
    // A datagram refused here is dropped as surely as one the loop refuses: counted, reported.
    if (IsDatagramKind(s->kind)) internal::NoteRefusedDatagram(*s);
    return internal::HighWaterError(s->id, s->queued_bytes.load(std::memory_order_relaxed), n,
                                    s->high_water());
  }
  auto posted = make_posted(size);
  if (!s->PostToCore([posted = std::move(posted)](SessionCore& core) mutable {
        absl::Status st = posted(core);
        if (!st.ok()) core.ReportError(st);
      })) {
    s->Unreserve(n);
    return internal::SessionClosedError(s->id);
  }
  return absl::OkStatus();
}

// DispatchWrite, then `on_sent` once the bytes have left (see WriteCallback).
template <typename Direct, typename MakePosted>
absl::Status DispatchWriteNotify(const std::shared_ptr<SessionShared>& s, size_t size,
                                 WriteCallback on_sent, Direct direct, MakePosted make_posted) {
  if (!on_sent) {
    return absl::InvalidArgumentError("a write with a completion callback needs a callback");
  }
  // Only on the loop thread: a shared_ptr keeps the callback alive across the posted task.
  auto callback = std::make_shared<WriteCallback>(std::move(on_sent));
  return DispatchWrite(
      s, nullptr, size,
      [&](SessionCore& c) {
        absl::Status st = direct(c);
        if (st.ok()) c.NotifyWhenSent(std::move(*callback));
        return st;
      },
      [&](size_t reserved) {
        return [posted = make_posted(reserved), callback](SessionCore& c) mutable {
          absl::Status st = posted(c);
          if (st.ok()) {
            c.NotifyWhenSent(std::move(*callback));
          } else {
            c.FailWrite(std::move(*callback), st);
          }
          return st;
        };
      });
}

absl::Time ToWallTime(int64_t monotonic_ns) {
  if (monotonic_ns == 0) return absl::InfinitePast();
  return absl::Now() - absl::Nanoseconds(runtime::EventLoop::MonotonicNs() - monotonic_ns);
}

}  // namespace

absl::Status SessionHandle::WritePkg(Package pkg) const {
  const size_t size = pkg.size();
  return DispatchWrite(
      shared_, nullptr, size,
      [&](SessionCore& c) { return c.WritePkg(std::move(pkg), nullptr, 0); },
      [&](size_t reserved) {
        pkg.Own();
        return [pkg = std::move(pkg), reserved](SessionCore& c) mutable {
          return c.WritePkg(std::move(pkg), nullptr, reserved);
        };
      });
}

absl::Status SessionHandle::WriteBytes(absl::string_view bytes) const {
  return DispatchWrite(
      shared_, nullptr, bytes.size(),
      [&](SessionCore& c) { return c.WriteBytes(bytes, nullptr, 0); },
      [&](size_t reserved) {
        return [copy = std::string(bytes), reserved](SessionCore& c) mutable {
          return c.WriteOwned(std::move(copy), nullptr, reserved);
        };
      });
}

absl::Status SessionHandle::WriteBytes(std::string&& bytes) const {
  return DispatchWrite(
      shared_, nullptr, bytes.size(),
      [&](SessionCore& c) { return c.WriteOwned(std::move(bytes), nullptr, 0); },
      [&](size_t reserved) {
        return [owned = std::move(bytes), reserved](SessionCore& c) mutable {
          return c.WriteOwned(std::move(owned), nullptr, reserved);
        };
      });
}

absl::Status SessionHandle::WriteBytesArray(absl::Span<const absl::string_view> parts) const {
  size_t size = 0;
  for (absl::string_view p : parts) size += p.size();
  return DispatchWrite(
      shared_, nullptr, size, [&](SessionCore& c) { return c.WriteBytesArray(parts, 0); },
      [&](size_t reserved) {
        std::string joined;
        joined.reserve(size);
        for (absl::string_view p : parts) joined.append(p.data(), p.size());
        return [joined = std::move(joined), reserved](SessionCore& c) mutable {
          return c.WriteOwned(std::move(joined), nullptr, reserved);
        };
      });
}

absl::Status SessionHandle::WritePkg(Package pkg, WriteCallback on_sent) const {
  const size_t size = pkg.size();
  return DispatchWriteNotify(
      shared_, size, std::move(on_sent),
      [&](SessionCore& c) { return c.WritePkg(std::move(pkg), nullptr, 0); },
      [&](size_t reserved) {
        pkg.Own();
        return [pkg = std::move(pkg), reserved](SessionCore& c) mutable {
          return c.WritePkg(std::move(pkg), nullptr, reserved);
        };
      });
}

absl::Status SessionHandle::WriteBytes(absl::string_view bytes, WriteCallback on_sent) const {
  return DispatchWriteNotify(
      shared_, bytes.size(), std::move(on_sent),
      [&](SessionCore& c) { return c.WriteBytes(bytes, nullptr, 0); },
      [&](size_t reserved) {
        return [copy = std::string(bytes), reserved](SessionCore& c) mutable {
          return c.WriteOwned(std::move(copy), nullptr, reserved);
        };
      });
}

bool SessionHandle::IsWritable() const {
  return shared_ != nullptr && shared_->writable.load(std::memory_order_relaxed);
}

namespace {

absl::Status SetReadingPaused(const std::shared_ptr<SessionShared>& s, bool paused) {
  if (s == nullptr) return EmptyHandle();
  if (IsDatagramKind(s->kind)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "session ", s->id, " (", SessionKindName(s->kind),
        "): reading is paused for stream sessions only (UDP datagrams are not paused)"));
  }
  if (s->loop->IsInLoopThread()) {
    if (s->core == nullptr) return internal::SessionClosedError(s->id);
    s->core->SetReadingPausedByUser(paused);
    return absl::OkStatus();
  }
  if (!s->PostToCore([paused](SessionCore& c) { c.SetReadingPausedByUser(paused); })) {
    return internal::SessionClosedError(s->id);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status SessionHandle::PauseReading() const { return SetReadingPaused(shared_, true); }

absl::Status SessionHandle::ResumeReading() const { return SetReadingPaused(shared_, false); }

absl::Status SessionHandle::WritePkgTo(Package pkg, const InetAddress& peer) const {
  const size_t size = pkg.size();
  return DispatchWrite(
      shared_, &peer, size, [&](SessionCore& c) { return c.WritePkg(std::move(pkg), &peer, 0); },
      [&](size_t reserved) {
        pkg.Own();
        return [pkg = std::move(pkg), peer, reserved](SessionCore& c) mutable {
          return c.WritePkg(std::move(pkg), &peer, reserved);
        };
      });
}

absl::Status SessionHandle::WriteBytesTo(absl::string_view bytes, const InetAddress& peer) const {
  return DispatchWrite(
      shared_, &peer, bytes.size(), [&](SessionCore& c) { return c.WriteBytes(bytes, &peer, 0); },
      [&](size_t reserved) {
        return [copy = std::string(bytes), peer, reserved](SessionCore& c) mutable {
          return c.WriteOwned(std::move(copy), &peer, reserved);
        };
      });
}

absl::Status SessionHandle::Connect(const InetAddress& peer) const {
  if (shared_ == nullptr) return EmptyHandle();
  if (shared_->kind != SessionKind::kUdpConnected) {
    return absl::FailedPreconditionError(absl::StrCat("session ", shared_->id, " (",
                                                      SessionKindName(shared_->kind),
                                                      "): Connect is for connected UDP sessions"));
  }
  if (!peer.valid()) return absl::InvalidArgumentError("Connect: peer address is unspecified");
  const InetAddress current = RemoteAddress();
  if (current.valid() && current.family() != peer.family()) {
    return absl::InvalidArgumentError(absl::StrCat("session ", shared_->id, ": cannot switch from ",
                                                   current.ToString(), " to ", peer.ToString(),
                                                   " (address family differs)"));
  }
  if (shared_->loop->IsInLoopThread()) {
    if (shared_->core == nullptr) return internal::SessionClosedError(shared_->id);
    return shared_->core->Connect(peer);
  }
  if (!shared_->PostToCore([peer](SessionCore& c) {
        absl::Status st = c.Connect(peer);
        if (!st.ok()) c.ReportError(st);
      })) {
    return internal::SessionClosedError(shared_->id);
  }
  return absl::OkStatus();
}

void SessionHandle::Close() const {
  if (shared_ == nullptr) return;
  if (shared_->loop->IsInLoopThread()) {
    if (shared_->core != nullptr) shared_->core->Close();
    return;
  }
  shared_->PostToCore([](SessionCore& c) { c.Close(); });
}

bool SessionHandle::IsClosed() const {
  return shared_ == nullptr || shared_->closing.load(std::memory_order_acquire);
}

uint64_t SessionHandle::id() const { return shared_ == nullptr ? 0 : shared_->id; }

SessionKind SessionHandle::kind() const {
  return shared_ == nullptr ? SessionKind::kTcp : shared_->kind;
}

runtime::EventLoop* SessionHandle::loop() const {
  return shared_ == nullptr ? nullptr : shared_->loop;
}

InetAddress SessionHandle::LocalAddress() const {
  if (shared_ == nullptr) return InetAddress();
  std::lock_guard<std::mutex> lock(shared_->mutex);
  return shared_->local;
}

InetAddress SessionHandle::RemoteAddress() const {
  if (shared_ == nullptr) return InetAddress();
  std::lock_guard<std::mutex> lock(shared_->mutex);
  return shared_->remote;
}

SessionStat SessionHandle::Stat() const {
  SessionStat stat;
  if (shared_ == nullptr) return stat;
  const auto relaxed = std::memory_order_relaxed;
  stat.bytes_in = shared_->bytes_in.load(relaxed);
  stat.bytes_out = shared_->bytes_out.load(relaxed);
  stat.packages_in = shared_->packages_in.load(relaxed);
  stat.packages_out = shared_->packages_out.load(relaxed);
  stat.send_requests = shared_->send_requests.load(relaxed);
  stat.datagrams_dropped = shared_->datagrams_dropped.load(relaxed);
  stat.writable = shared_->writable.load(relaxed);
  stat.reading_paused = shared_->reading_paused.load(relaxed);
  const int64_t queued = shared_->queued_bytes.load(relaxed);
  stat.queued_bytes = queued > 0 ? static_cast<uint64_t>(queued) : 0;
  stat.opened = ToWallTime(shared_->opened_ns.load(relaxed));
  stat.last_read = ToWallTime(shared_->last_read_ns.load(relaxed));
  stat.last_write = ToWallTime(shared_->last_write_ns.load(relaxed));
  return stat;
}

void SessionHandle::SetAttribute(std::string key, std::any value) const {
  if (shared_ == nullptr) return;
  std::lock_guard<std::mutex> lock(shared_->mutex);
  if (shared_->attributes == nullptr)
    shared_->attributes = std::make_unique<internal::AttributeMap>();
  shared_->attributes->insert_or_assign(std::move(key), std::move(value));
}

std::optional<std::any> SessionHandle::GetAttribute(absl::string_view key) const {
  if (shared_ == nullptr) return std::nullopt;
  std::lock_guard<std::mutex> lock(shared_->mutex);
  if (shared_->attributes == nullptr) return std::nullopt;
  auto it = shared_->attributes->find(key);
  if (it == shared_->attributes->end()) return std::nullopt;
  return it->second;
}

void SessionHandle::RemoveAttribute(absl::string_view key) const {
  if (shared_ == nullptr) return;
  std::lock_guard<std::mutex> lock(shared_->mutex);
  if (shared_->attributes != nullptr) shared_->attributes->erase(key);
}

void SessionHandle::UpdateActive() const {
  if (shared_ != nullptr) {
    shared_->active_ns.store(runtime::EventLoop::MonotonicNs(), std::memory_order_relaxed);
  }
}

absl::Time SessionHandle::GetActive() const {
  if (shared_ == nullptr) return absl::InfinitePast();
  return ToWallTime(shared_->active_ns.load(std::memory_order_relaxed));
}

}  // namespace ringnet::net
