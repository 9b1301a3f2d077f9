// Unpredictable bytes for masking keys and handshake nonces (RFC 6455
// sections 5.3 and 4.1).
//
// Bytes come from the kernel's CSPRNG (getrandom(2), falling back to
// /dev/urandom), read 256 at a time into a per-thread buffer so masking a small
// frame does not cost a system call. A child created by fork() never reuses
// bytes its parent had buffered.
//
// Example:
//
//   uint8_t nonce[16];
//   SecureRandomBytes(nonce, sizeof(nonce));
//
// Thread-safe.
#ifndef RINGNET_CODEC_WEBSOCKET_SECURE_RANDOM_H_
#define RINGNET_CODEC_WEBSOCKET_SECURE_RANDOM_H_

#include <cstddef>

namespace ringnet::codec::websocket {

// Fills `out[0, len)` with random bytes. Never fails: if the kernel offers no
// randomness at all (no getrandom, no /dev/urandom) it degrades to a
// clock-seeded generator.
void SecureRandomBytes(void* out, size_t len);

}  // namespace ringnet::codec::websocket

#endif  // RINGNET_CODEC_WEBSOCKET_SECURE_RANDOM_H_
