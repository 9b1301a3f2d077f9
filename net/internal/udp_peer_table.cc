// UdpSession's per-peer mode: the table of UdpPeerSessions by sender address (PeerFor makes and
// opens one on a sender's first datagram, up to max_peers), kept up to date as they close
// (OnSessionClosed) and closed with the session (ClosePeers). Their datagrams leave through
// SendForPeer (udp_session_send.cc).
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ringnet/net/internal/loop_registry.h"
#include "ringnet/net/internal/udp_peer_session.h"
#include "ringnet/net/internal/udp_session.h"

namespace ringnet::net::internal {

void UdpSession::EnablePeerSessions(NewSessionCallback callback, size_t max_peers) {
  peers_ = std::make_unique<PeerTable>();
  peers_->callback = std::move(callback);
  peers_->max_peers = max_peers;
}

UdpPeerSession* UdpSession::PeerFor(const InetAddress& from) {
  auto it = peers_->by_address.find(from);
  if (it != peers_->by_address.end()) return it->second;
  if (peers_->by_address.size() >= peers_->max_peers) {
    DeliverError(absl::ResourceExhaustedError(absl::StrCat(
        "udp session ", id(), ": ", peers_->by_address.size(),
        " peer sessions already (max_peers); datagram from ", from.ToString(), " dropped")));
    return nullptr;
  }
  InetAddress local;
  {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    local = shared_->local;
  }
  UdpPeerSession* peer =
      LoopRegistry::Of(loop_).Adopt(std::make_unique<UdpPeerSession>(loop_, this, local, from));
  peer->set_observer(this);
  peers_->by_address[from] = peer;
  if (!peer->Open(peers_->callback).ok()) return nullptr;  // rejected: the datagram is dropped
  return peer;
}

void UdpSession::OnSessionClosed(SessionBase* session, bool) {
  auto* peer = static_cast<UdpPeerSession*>(session);
  auto it = peers_->by_address.find(peer->peer());
  if (it != peers_->by_address.end() && it->second == peer) peers_->by_address.erase(it);
}

void UdpSession::ClosePeers() {
  if (peers_ == nullptr) return;
  std::vector<UdpPeerSession*> all;
  for (auto& [address, peer] : peers_->by_address) all.push_back(peer);
  for (UdpPeerSession* peer : all) {
    // Closes now: its write callbacks (which wait here) run, then OnClose, then OnSessionClosed
    // above. Closed, it sends nothing more through this session.
    peer->Abort();
    peer->Detach();
  }
}

}  // namespace ringnet::net::internal
