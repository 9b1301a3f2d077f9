#include "ringnet/bench/server_process.h"

#include <dirent.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace ringnet::bench {
namespace {

// Reads one line from `fd` (blocking).
std::string ReadLine(int fd) {
  std::string line;
  char c;
  while (read(fd, &c, 1) == 1 && c != '\n') line.push_back(c);
  return line;
}

}  // namespace

void PinThisThread(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof(set), &set);
}

std::string RunfilePath(const std::string& relative) {
  // `bazel run` starts benches in their runfiles tree, where data dependencies sit at their
  // workspace-relative paths.
  if (access(relative.c_str(), X_OK) == 0) return relative;
  const char* dir = getenv("RUNFILES_DIR");
  if (dir != nullptr) return absl::StrCat(dir, "/ringnet/", relative);
  // Started directly (bazel-bin/bench/foo): the runfiles tree sits beside the binary.
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n > 0) {
    const std::string beside = absl::StrCat(absl::string_view(self, static_cast<size_t>(n)),
                                            ".runfiles/ringnet/", relative);
    if (access(beside.c_str(), X_OK) == 0) return beside;
  }
  return relative;
}

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::Start(
    const std::vector<std::string>& argv, int cpu) {
  return Launch(argv, cpu, /*wrapped=*/false);
}

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::StartWrapped(
    const std::vector<std::string>& argv, int cpu) {
  return Launch(argv, cpu, /*wrapped=*/true);
}

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::Launch(
    const std::vector<std::string>& argv, int cpu, bool wrapped) {
  int out[2];
  if (pipe(out) != 0) return absl::ErrnoToStatus(errno, "pipe");
  pid_t pid = fork();
  if (pid < 0) return absl::ErrnoToStatus(errno, "fork");
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    PinThisThread(cpu);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());  // PATH lookup for wrappers such as perf
    std::perror(argv[0].c_str());
    _exit(127);
  }
  close(out[1]);
  std::unique_ptr<ServerProcess> p(new ServerProcess());
  p->pid_ = pid;
  p->server_pid_ = pid;
  p->stdout_fd_ = out[0];
  const std::string line = ReadLine(out[0]);
  if (wrapped) {
    // The server printed its line, so it exists: it is the wrapper's only child.
    std::ifstream children(absl::StrCat("/proc/", pid, "/task/", pid, "/children"));
    pid_t child = -1;
    if (!(children >> child) || child <= 0) {
      return absl::InternalError(absl::StrCat(argv[0], " has no child process to measure"));
    }
    p->server_pid_ = child;
  }
  std::vector<std::string> words = absl::StrSplit(line, ' ');
  if (words.size() != 3 || words[0] != "listening") {
    return absl::InternalError(
        absl::StrCat(argv[0], " did not report its address: \"", line, "\""));
  }
  absl::StatusOr<net::InetAddress> address = net::InetAddress::Parse(words[2]);
  if (!address.ok()) return address.status();
  p->address_ = *address;
  return p;
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) Stop();
}

int64_t ServerProcess::CpuNs() const {
  int64_t total = 0;
  const std::string dir = absl::StrCat("/proc/", server_pid_, "/task");
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return 0;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream in(absl::StrCat(dir, "/", e->d_name, "/schedstat"));
    int64_t ns = 0;
    if (in >> ns) total += ns;
  }
  closedir(d);
  return total;
}

int64_t ServerProcess::RssBytes() const {
  std::ifstream in(absl::StrCat("/proc/", server_pid_, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    absl::string_view rest = line;
    if (!absl::ConsumePrefix(&rest, "VmRSS:")) continue;
    int64_t kb = 0;
    if (absl::SimpleAtoi(absl::StripSuffix(absl::StripAsciiWhitespace(rest), " kB"), &kb)) {
      return kb * 1024;
    }
  }
  return -1;
}

int ServerProcess::OpenFds() const {
  DIR* d = opendir(absl::StrCat("/proc/", server_pid_, "/fd").c_str());
  if (d == nullptr) return -1;
  int n = 0;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(d);
  return n;
}

std::map<std::string, uint64_t> ServerProcess::Stop() {
  std::map<std::string, uint64_t> stats;
  if (pid_ <= 0) return stats;
  kill(server_pid_, SIGTERM);  // a wrapper exits when its child does
  std::string rest;
  char buf[4096];
  // A server that does not exit within 10 s of SIGTERM is killed (and its stats are lost).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    pollfd p{stdout_fd_, POLLIN, 0};
    if (left <= 0 || poll(&p, 1, static_cast<int>(left)) == 0) {
      kill(server_pid_, SIGKILL);
      kill(pid_, SIGKILL);
      break;
    }
    const ssize_t n = read(stdout_fd_, buf, sizeof(buf));
    if (n <= 0) break;
    rest.append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  waitpid(pid_, &status, 0);
  close(stdout_fd_);
  pid_ = -1;
  for (absl::string_view line : absl::StrSplit(rest, '\n')) {
    if (!absl::ConsumePrefix(&line, "stats ")) continue;
    for (absl::string_view kv : absl::StrSplit(line, ' ')) {
      std::pair<std::string, std::string> p = absl::StrSplit(kv, absl::MaxSplits('=', 1));
      uint64_t v = 0;
      if (absl::SimpleAtoi(p.second, &v)) stats[p.first] = v;
    }
  }
  return stats;
}

}  // namespace ringnet::bench
