// WebSocket codec throughput, each figure next to baselines measured in the
// same run:
//
//   BM_Decode/S          MessageParser (server role) decoding and unmasking a
//                        256 KiB buffer of masked binary frames of S payload
//                        bytes each, in place (whole frames are delivered as
//                        views, no copy).
//   BM_DecodeText/S      the same with ASCII text frames: adds UTF-8
//                        validation.
//   BM_Memcpy/S          memcpy of the same buffer: the floor.
//   BM_BytewiseUnmask/S  unmasking the same payloads a byte at a time, frame
//                        offsets precomputed (no parsing at all).
//   BM_ApplyMask/S       ApplyMask alone on the same payloads.
//
// Throughput counts every wire byte (headers included). At the end it prints
// GB/s and the ratios decode/memcpy and decode/bytewise-unmask per size.
//
//   bazel run -c opt //bench:websocket_codec
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "ringnet/bench/collecting_reporter.h"
#include "ringnet/codec/websocket/frame.h"
#include "ringnet/codec/websocket/mask.h"
#include "ringnet/codec/websocket/message_parser.h"

namespace ringnet::codec::websocket {
namespace {

constexpr size_t kBufferBytes = 256 * 1024;
// ASCII key bytes: masked ASCII stays ASCII, so text frames stay valid UTF-8 as
// the parser toggles their payloads in place, iteration after iteration.
constexpr MaskKey kKey = {0x37, 0x7a, 0x21, 0x3d};
constexpr int64_t kSizes[] = {16, 1024, 65536};

// A buffer of masked client frames, and where each payload starts.
struct Frames {
  std::string wire;
  std::vector<size_t> payload_offsets;
  size_t payload_size = 0;
};

Frames MakeFrames(size_t payload_size, Opcode opcode) {
  Frames frames;
  frames.payload_size = payload_size;
  const std::string payload(payload_size, 'x');
  while (frames.wire.size() + payload_size < kBufferBytes) {
    if (!AppendFrameWithKey(opcode, true, payload, kKey, &frames.wire).ok()) {
      std::abort();
    }
    frames.payload_offsets.push_back(frames.wire.size() - payload_size);
  }
  return frames;
}

void SetThroughput(benchmark::State& state, const Frames& frames) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(frames.wire.size()));
}

void Decode(benchmark::State& state, Opcode opcode) {
  Frames frames = MakeFrames(static_cast<size_t>(state.range(0)), opcode);
  size_t delivered = 0;
  for (auto _ : state) {
    // Unmasking toggles the payloads in place; headers are untouched, so the
    // buffer stays a valid stream.
    MessageParser parser({.role = Role::kServer, .max_message_size = 1 << 20});
    absl::Status status = parser.Feed(absl::MakeSpan(frames.wire),
                                      [&](const Message& m) { delivered += m.payload.size(); });
    if (!status.ok()) {
      state.SkipWithError(std::string(status.message()).c_str());
      break;
    }
    benchmark::ClobberMemory();
  }
  benchmark::DoNotOptimize(delivered);
  SetThroughput(state, frames);
}

void BM_Decode(benchmark::State& state) { Decode(state, Opcode::kBinary); }

void BM_DecodeText(benchmark::State& state) { Decode(state, Opcode::kText); }

void BM_Memcpy(benchmark::State& state) {
  Frames frames = MakeFrames(static_cast<size_t>(state.range(0)), Opcode::kBinary);
  std::string copy(frames.wire.size(), '\0');
  for (auto _ : state) {
    std::memcpy(copy.data(), frames.wire.data(), frames.wire.size());
    benchmark::ClobberMemory();
  }
  SetThroughput(state, frames);
}

// The straightforward loop, kept byte by byte (not vectorized) on purpose.
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-tree-vectorize")))
#endif
void UnmaskBytewise(char* data, size_t len, const MaskKey& key) {
  for (size_t i = 0; i < len; ++i) data[i] ^= static_cast<char>(key[i & 3]);
}

void BM_BytewiseUnmask(benchmark::State& state) {
  Frames frames = MakeFrames(static_cast<size_t>(state.range(0)), Opcode::kBinary);
  for (auto _ : state) {
    for (size_t offset : frames.payload_offsets) {
      UnmaskBytewise(frames.wire.data() + offset, frames.payload_size, kKey);
    }
    benchmark::ClobberMemory();
  }
  SetThroughput(state, frames);
}

void BM_ApplyMask(benchmark::State& state) {
  Frames frames = MakeFrames(static_cast<size_t>(state.range(0)), Opcode::kBinary);
  for (auto _ : state) {
    for (size_t offset : frames.payload_offsets) {
      ApplyMask(frames.wire.data() + offset, frames.payload_size, kKey);
    }
    benchmark::ClobberMemory();
  }
  SetThroughput(state, frames);
}

BENCHMARK(BM_Decode)->Arg(16)->Arg(1024)->Arg(65536);
BENCHMARK(BM_DecodeText)->Arg(16)->Arg(1024)->Arg(65536);
BENCHMARK(BM_Memcpy)->Arg(16)->Arg(1024)->Arg(65536);
BENCHMARK(BM_BytewiseUnmask)->Arg(16)->Arg(1024)->Arg(65536);
BENCHMARK(BM_ApplyMask)->Arg(16)->Arg(1024)->Arg(65536);

// GB/s of run `name`, from its bytes_per_second counter.
double GbPerSecond(const bench::CollectingReporter& reporter, const std::string& name) {
  return reporter.Counter(name, "bytes_per_second") / 1e9;
}

// The same-run ratios per frame size.
void PrintRatios(const bench::CollectingReporter& reporter) {
  std::printf("\n%-8s %10s %10s %10s %10s %10s %14s %16s\n", "frame", "decode", "text", "memcpy",
              "bytewise", "ApplyMask", "decode/memcpy", "decode/bytewise");
  for (int64_t size : kSizes) {
    const std::string arg = "/" + std::to_string(size);
    const double decode = GbPerSecond(reporter, "BM_Decode" + arg);
    const double text = GbPerSecond(reporter, "BM_DecodeText" + arg);
    const double copy = GbPerSecond(reporter, "BM_Memcpy" + arg);
    const double bytewise = GbPerSecond(reporter, "BM_BytewiseUnmask" + arg);
    const double mask = GbPerSecond(reporter, "BM_ApplyMask" + arg);
    if (decode <= 0 || copy <= 0 || bytewise <= 0) continue;
    std::printf("%-8s %7.2f GB/s %5.2f GB/s %5.2f GB/s %5.2f GB/s %5.2f GB/s %13.2fx %15.2fx\n",
                (std::to_string(size) + " B").c_str(), decode, text, copy, bytewise, mask,
                decode / copy, decode / bytewise);
  }
}

}  // namespace
}  // namespace ringnet::codec::websocket

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  ringnet::bench::CollectingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  ringnet::codec::websocket::PrintRatios(reporter);
  benchmark::Shutdown();
  return 0;
}
