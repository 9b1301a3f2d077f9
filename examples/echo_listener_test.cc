// EchoListener: a stream write that fails closes the session; the peer never gets a stream with a
// hole in it (issue 18: the echo used to drop the bytes of a refused write and carry on).
#include "ringnet/examples/echo_listener.h"

#include <cstring>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "ringnet/codec/raw_codec.h"
#include "ringnet/net/tcp_server.h"
#include "ringnet/test/net_test_util.h"

namespace ringnet::examples {
namespace {

TEST(EchoListenerTest, AStreamWriteThatFailsClosesTheSessionInsteadOfSkippingBytes) {
  auto group = runtime::EventLoopGroup::Create(1);
  ASSERT_TRUE(group.ok()) << group.status();
  net::TcpServerOptions options;
  options.listen = net::InetAddress::Loopback(0);
  options.new_session = [](net::SessionConfig& config) {
    config.listener = std::make_shared<EchoListener>();
    config.codec = std::make_shared<codec::RawCodec>();
    // Options that leave no room: reading never pauses, and the queue's hard limit is small, so
    // the echo's writes fail once a peer stops reading.
    config.options.pause_reading_when_unwritable = false;
    config.options.write_high_water = 256 << 10;
    return absl::OkStatus();
  };
  auto server = net::TcpServer::Create(group->get(), std::move(options));
  ASSERT_TRUE(server.ok()) << server.status();

  auto client = testing::PlainTcpClient::Connect((*server)->address());
  ASSERT_TRUE(client.ok()) << client.status();
  // Far more than the kernel's buffers and the queue hold while nothing is read; each 8-byte
  // word is its offset, so any hole or repeat shows.
  std::string sent(32 << 20, '\0');
  for (size_t i = 0; i < sent.size(); i += 8) std::memcpy(&sent[i], &i, 8);
  // Nothing is read meanwhile, so the echo's queue passes its hard limit. This completes: the
  // server keeps reading (a closing session reads on, and discards, to the peer's FIN).
  ASSERT_TRUE(client->WriteAll(sent).ok());
  client->ShutdownWrite();
  absl::StatusOr<std::string> echoed = client->ReadUntilEof();
  ASSERT_TRUE(echoed.ok()) << echoed.status();
  EXPECT_LT(echoed->size(), sent.size()) << "every write succeeded: the test proves nothing";
  EXPECT_GT(echoed->size(), 0u);
  // What came back is exactly the start of what was sent, then EOF.
  EXPECT_TRUE(absl::string_view(sent).substr(0, echoed->size()) == *echoed)
      << "the echo skipped bytes";
}

}  // namespace
}  // namespace ringnet::examples
