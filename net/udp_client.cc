#include "ringnet/net/udp_client.h"

#include <sys/socket.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "ringnet/net/internal/client_slot.h"
#include "ringnet/net/internal/socket.h"
#include "ringnet/net/internal/udp_session.h"

namespace ringnet::net {
namespace internal {

// A slot whose dial is a synchronous connect(2) of a datagram socket: no handshake to wait for.
class UdpConnector final : public ClientSlot {
 public:
  UdpConnector(runtime::EventLoop* loop, std::shared_ptr<ClientState> state,
               const UdpClientOptions& options)
      : ClientSlot(loop, std::move(state)),
        server_(options.server),
        bind_(options.bind),
        receive_buffer_bytes_(options.receive_buffer_bytes),
        send_buffer_bytes_(options.send_buffer_bytes) {}

 protected:
  void Dial() override {
    absl::StatusOr<UniqueFd> fd =
        bind_.valid() ? CreateBoundUdpSocket(bind_) : CreateSocket(server_.family(), SOCK_DGRAM);
    if (!fd.ok()) {
      DialFailed(fd.status());
      return;
    }
    absl::Status status = SetBufferSizes(fd->get(), receive_buffer_bytes_, send_buffer_bytes_);
    if (status.ok() && ::connect(fd->get(), server_.sockaddr(), server_.length()) != 0) {
      status = SocketError(absl::StrCat("connect ", server_.ToString()).c_str(), errno);
    }
    if (!status.ok()) {
      DialFailed(status);
      return;
    }
    OpenSession(std::make_unique<UdpSession>(loop_, *std::move(fd), /*connected=*/true));
  }

 private:
  const InetAddress server_;
  const InetAddress bind_;
  const int receive_buffer_bytes_;
  const int send_buffer_bytes_;
};

}  // namespace internal

absl::StatusOr<std::unique_ptr<UdpClient>> UdpClient::Create(runtime::EventLoopGroup* group,
                                                             const UdpClientOptions& options) {
  if (group == nullptr) return absl::InvalidArgumentError("UdpClient needs an EventLoopGroup");
  if (!options.server.valid()) {
    return absl::InvalidArgumentError("UdpClientOptions.server is not an IPv4/IPv6 address");
  }
  if (!options.new_session) {
    return absl::InvalidArgumentError("UdpClientOptions.new_session is required");
  }
  if (options.connections < 1) {
    return absl::InvalidArgumentError("UdpClientOptions.connections must be at least 1");
  }
  auto state = std::make_shared<internal::ClientState>(group, internal::ReconnectPolicyOf(options));
  std::unique_ptr<UdpClient> client(new UdpClient(state));
  for (int i = 0; i < options.connections; ++i) {
    runtime::EventLoop* loop = group->Next();
    if (!internal::ClientSlot::PostStart(
            loop, std::make_unique<internal::UdpConnector>(loop, state, options))) {
      return absl::FailedPreconditionError("UdpClient: the event loop group has stopped");
    }
  }
  return client;
}

UdpClient::UdpClient(std::shared_ptr<internal::ClientState> state)
    : Endpoint(std::shared_ptr<internal::EndpointShared>(state, &state->endpoint)),
      state_(std::move(state)) {}

}  // namespace ringnet::net
