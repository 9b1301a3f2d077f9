#include "ringnet/codec/websocket/mask.h"

#include <cstring>

namespace ringnet::codec::websocket {
namespace {

// The key repeated over 8 bytes, starting at key byte `offset`, in memory
// order.
uint64_t KeyWord(const MaskKey& key, size_t offset) {
  unsigned char bytes[8];
  for (size_t i = 0; i < 8; ++i) bytes[i] = key[(offset + i) & 3];
  uint64_t word;
  std::memcpy(&word, bytes, sizeof(word));
  return word;
}

void XorWord(char* p, uint64_t key_word) {
  uint64_t word;
  std::memcpy(&word, p, sizeof(word));
  word ^= key_word;
  std::memcpy(p, &word, sizeof(word));
}

}  // namespace

size_t ApplyMask(char* data, size_t len, MaskKey key, size_t key_offset) {
  size_t offset = key_offset & 3;
  size_t i = 0;
  if (len >= 16) {
    // Byte by byte up to an 8-byte boundary, so the word loop makes aligned
    // accesses.
    const size_t head = (8 - (reinterpret_cast<uintptr_t>(data) & 7)) & 7;
    for (; i < head; ++i, offset = (offset + 1) & 3) data[i] ^= key[offset];
    // 8 is a multiple of 4, so the key word is the same for every word.
    const uint64_t key_word = KeyWord(key, offset);
    for (; i + 32 <= len; i += 32) {
      XorWord(data + i, key_word);
      XorWord(data + i + 8, key_word);
      XorWord(data + i + 16, key_word);
      XorWord(data + i + 24, key_word);
    }
    for (; i + 8 <= len; i += 8) XorWord(data + i, key_word);
  }
  for (; i < len; ++i, offset = (offset + 1) & 3) data[i] ^= key[offset];
  return offset;
}

}  // namespace ringnet::codec::websocket
