// A main() for the fuzz targets when they are built without libFuzzer (the
// default, gcc build): runs LLVMFuzzerTestOneInput once on every file named on
// the command line, or in a directory named there. The corpus tests use it so
// the seed corpus is replayed by `bazel test`; with --config=fuzz the targets
// link libFuzzer instead, which accepts the same arguments.
//
// Example:
//
//   bazel-bin/codec/websocket/frame_parser_fuzzer codec/websocket/corpus/frame
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

// The regular files at `path`: itself, or the entries of a directory, sorted.
std::vector<std::string> Inputs(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return {};
  if (!S_ISDIR(st.st_mode)) return {path};
  std::vector<std::string> files;
  if (DIR* dir = opendir(path.c_str())) {
    while (dirent* entry = readdir(dir)) {
      const std::string name = entry->d_name;
      if (name == "." || name == "..") continue;
      const std::string file = path + "/" + name;
      if (stat(file.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
        files.push_back(file);
      }
    }
    closedir(dir);
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

int main(int argc, char** argv) {
  size_t runs = 0;
  for (int i = 1; i < argc; ++i) {
    const std::vector<std::string> files = Inputs(argv[i]);
    if (files.empty()) {
      std::fprintf(stderr, "no input at %s\n", argv[i]);
      return 1;
    }
    for (const std::string& file : files) {
      std::ifstream in(file, std::ios::binary);
      std::stringstream bytes;
      bytes << in.rdbuf();
      const std::string data = bytes.str();
      LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(data.data()), data.size());
      ++runs;
    }
  }
  std::printf("replayed %zu inputs\n", runs);
  return runs > 0 ? 0 : 1;
}
