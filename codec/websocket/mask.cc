#include "ringnet/codec/websocket/mask.h"

#include <cstring>

namespace ringnet::codec::websocket {
namespace {

// 16 bytes, as GCC and Clang vector extensions (SSE2 on x86-64, NEON on ARM).
typedef uint64_t Vec16 __attribute__((vector_size(16)));

// The key repeated over 4 bytes, starting at key byte `offset`, in memory
// order.
uint32_t KeyWord32(const MaskKey& key, size_t offset) {
  uint32_t word;
  std::memcpy(&word, key.data(), sizeof(word));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  // Memory byte 0 is the low byte: rotating right by 8 starts one key byte on.
  const unsigned shift = static_cast<unsigned>(offset) * 8;
  return shift == 0 ? word : (word >> shift) | (word << (32 - shift));
#else
  unsigned char bytes[4];
  for (size_t i = 0; i < 4; ++i) bytes[i] = key[(offset + i) & 3];
  std::memcpy(&word, bytes, sizeof(word));
  return word;
#endif
}

template <typename Word>
void XorAt(char* p, Word key_word) {
  Word word;
  std::memcpy(&word, p, sizeof(word));
  word ^= key_word;
  std::memcpy(p, &word, sizeof(word));
}

}  // namespace

size_t ApplyMask(char* data, size_t len, MaskKey key, size_t key_offset) {
  const size_t offset = key_offset & 3;
  size_t i = 0;
  if (len >= 4) {
    // 16, 8 and 4 are multiples of 4: one key word serves every position.
    const uint32_t k32 = KeyWord32(key, offset);
    const uint64_t k64 = (uint64_t{k32} << 32) | k32;
    const Vec16 k128 = {k64, k64};
    for (; i + 64 <= len; i += 64) {
      XorAt(data + i, k128);
      XorAt(data + i + 16, k128);
      XorAt(data + i + 32, k128);
      XorAt(data + i + 48, k128);
    }
    for (; i + 16 <= len; i += 16) XorAt(data + i, k128);
    if (i + 8 <= len) {
      XorAt(data + i, k64);
      i += 8;
    }
    if (i + 4 <= len) {
      XorAt(data + i, k32);
      i += 4;
    }
  }
  // `i` is a multiple of 4, so the tail starts at key byte `offset` again.
  for (size_t j = 0; i < len; ++i, ++j)
    data[i] = static_cast<char>(data[i] ^ key[(offset + j) & 3]);
  return (offset + len) & 3;
}

}  // namespace ringnet::codec::websocket
