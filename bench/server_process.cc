#include "ringnet/bench/server_process.h"

#include <dirent.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

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
  return relative;
}

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::Start(
    const std::vector<std::string>& argv, int cpu) {
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
    execv(args[0], args.data());
    std::perror(argv[0].c_str());
    _exit(127);
  }
  close(out[1]);
  std::unique_ptr<ServerProcess> p(new ServerProcess());
  p->pid_ = pid;
  p->stdout_fd_ = out[0];
  const std::string line = ReadLine(out[0]);
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
  const std::string dir = absl::StrCat("/proc/", pid_, "/task");
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

std::map<std::string, uint64_t> ServerProcess::Stop() {
  std::map<std::string, uint64_t> stats;
  if (pid_ <= 0) return stats;
  kill(pid_, SIGTERM);
  std::string rest;
  char buf[4096];
  ssize_t n;
  while ((n = read(stdout_fd_, buf, sizeof(buf))) > 0) rest.append(buf, static_cast<size_t>(n));
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
