#include "ringnet/test/faults/netns.h"

#include <dirent.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"

extern char** environ;

namespace ringnet::faults {
namespace {

// Debian puts nft, tc and ip in /usr/sbin; Bazel runs tests with PATH=/bin:/usr/bin:/usr/local/bin.
constexpr absl::string_view kToolPath = "/usr/sbin:/sbin:/usr/bin:/bin:/usr/local/sbin";

constexpr absl::string_view kTable = "inet ringnet_faults";

}  // namespace

absl::Status EnterNewNetNamespace() {
  if (::unshare(CLONE_NEWNET) != 0) {
    const int e = errno;
    return absl::ErrnoToStatus(e, "unshare(CLONE_NEWNET)");
  }
  return SetLoopbackUp(true);
}

absl::Status SetLoopbackUp(bool up) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::ErrnoToStatus(errno, "socket for SIOCSIFFLAGS");
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  absl::Status status;
  if (::ioctl(fd, SIOCGIFFLAGS, &ifr) != 0) {
    status = absl::ErrnoToStatus(errno, "ioctl(SIOCGIFFLAGS, lo)");
  } else {
    if (up) {
      ifr.ifr_flags |= IFF_UP;
    } else {
      ifr.ifr_flags &= ~IFF_UP;
    }
    if (::ioctl(fd, SIOCSIFFLAGS, &ifr) != 0) {
      status = absl::ErrnoToStatus(errno, "ioctl(SIOCSIFFLAGS, lo)");
    }
  }
  ::close(fd);
  return status;
}

absl::Status WriteSysctl(absl::string_view key, absl::string_view value) {
  const std::string path = absl::StrCat("/proc/sys/", key);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("open ", path));
  const ssize_t n = ::write(fd, value.data(), value.size());
  const int e = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(value.size())) {
    return absl::ErrnoToStatus(e, absl::StrCat("write '", value, "' to ", path));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> RunCommand(absl::string_view command) {
  int out[2];
  int err[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return absl::ErrnoToStatus(errno, "pipe2");
  if (::pipe2(err, O_CLOEXEC) != 0) {
    const int e = errno;
    ::close(out[0]);
    ::close(out[1]);
    return absl::ErrnoToStatus(e, "pipe2");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  const std::string script = absl::StrCat("PATH=", kToolPath, "; export PATH; ", command);
  const char* argv[] = {"/bin/sh", "-c", script.c_str(), nullptr};
  pid_t pid = 0;
  const int spawned =
      posix_spawn(&pid, "/bin/sh", &actions, nullptr, const_cast<char* const*>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  ::close(err[1]);
  if (spawned != 0) {
    ::close(out[0]);
    ::close(err[0]);
    return absl::ErrnoToStatus(spawned, "posix_spawn /bin/sh");
  }
  // Both pipes at once, so a chatty stderr cannot block the child while we wait on stdout.
  std::string stdout_text;
  std::string stderr_text;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string* sinks[2] = {&stdout_text, &stderr_text};
  int open_pipes = 2;
  while (open_pipes > 0) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buffer[4096];
      const ssize_t n = ::read(fds[i].fd, buffer, sizeof(buffer));
      if (n > 0) {
        sinks[i]->append(buffer, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_pipes;
      }
    }
  }
  for (const pollfd& p : fds) {
    if (p.fd >= 0) ::close(p.fd);
  }
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
    return absl::InternalError(absl::StrCat("`", command, "` ",
                                            WIFEXITED(wstatus)
                                                ? absl::StrCat("exited with ", WEXITSTATUS(wstatus))
                                                : absl::StrCat("died (wait status ", wstatus, ")"),
                                            ": ", absl::StripTrailingAsciiWhitespace(stderr_text)));
  }
  return stdout_text;
}

bool HaveTool(absl::string_view tool) { return RunCommand(absl::StrCat("command -v ", tool)).ok(); }

NftTable::~NftTable() {
  if (created_) (void)RunCommand(absl::StrCat("nft delete table ", kTable));
}

absl::Status NftTable::Create() {
  absl::StatusOr<std::string> r =
      RunCommand(absl::StrCat("nft add table ", kTable, " && nft add chain ", kTable,
                              " out '{ type filter hook output priority 0; policy accept; }'"));
  if (!r.ok()) return r.status();
  created_ = true;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<uint64_t>> NftTable::AddRules(const std::vector<std::string>& rules) {
  std::string script;
  for (const std::string& rule : rules) {
    absl::StrAppend(&script, script.empty() ? "" : "; ", "add rule ", kTable, " out ", rule);
  }
  // --echo --handle prints each rule back with the handle the kernel gave it ("# handle 4"),
  // in order; a "# new generation ..." line follows.
  absl::StatusOr<std::string> r = RunCommand(absl::StrCat("nft --echo --handle '", script, "'"));
  if (!r.ok()) return r.status();
  std::vector<uint64_t> handles;
  const absl::string_view marker = "# handle ";
  absl::string_view rest = *r;
  for (size_t at = rest.find(marker); at != absl::string_view::npos; at = rest.find(marker)) {
    rest.remove_prefix(at + marker.size());
    uint64_t handle = 0;
    if (!absl::SimpleAtoi(rest.substr(0, rest.find_first_not_of("0123456789")), &handle)) break;
    handles.push_back(handle);
  }
  if (handles.size() != rules.size()) {
    return absl::InternalError(absl::StrCat("nft printed ", handles.size(), " rule handles for ",
                                            rules.size(), " rules: ", *r));
  }
  return handles;
}

absl::Status NftTable::DeleteRules(const std::vector<uint64_t>& handles) {
  std::string script;
  for (uint64_t h : handles) {
    absl::StrAppend(&script, script.empty() ? "" : "; ", "delete rule ", kTable, " out handle ", h);
  }
  return RunCommand(absl::StrCat("nft '", script, "'")).status();
}

absl::StatusOr<std::vector<uint64_t>> NftTable::DropTcpPort(uint16_t port) {
  return AddRules(
      {absl::StrCat("tcp dport ", port, " drop"), absl::StrCat("tcp sport ", port, " drop")});
}

absl::StatusOr<std::vector<uint64_t>> NftTable::ResetTcpPort(uint16_t port) {
  // Not the RSTs themselves: the reset sent back passes this chain too (with the port swapped),
  // and a rejected RST would be dropped (nothing answers a RST), so no end would ever hear it.
  return AddRules(
      {absl::StrCat("tcp dport ", port, " tcp flags & rst == 0 reject with tcp reset"),
       absl::StrCat("tcp sport ", port, " tcp flags & rst == 0 reject with tcp reset")});
}

SlowLoopback::~SlowLoopback() {
  if (started_) (void)RunCommand("tc qdisc del dev lo root");
}

absl::Status SlowLoopback::Start(absl::string_view rate) {
  // burst: 16 full-sized packets; latency bounds the queue (TCP's own pacing keeps it short).
  absl::StatusOr<std::string> r =
      RunCommand(absl::StrCat("ip link set dev lo mtu 1500 && tc qdisc add dev lo root tbf rate ",
                              rate, " burst 24kb latency 200ms"));
  if (!r.ok()) return r.status();
  started_ = true;
  return absl::OkStatus();
}

int OpenFdCount() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int count = 0;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  ::closedir(dir);
  return count - 1;  // the directory's own descriptor
}

int64_t ResidentBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (absl::StartsWith(line, "VmRSS:")) {
      int64_t kib = 0;
      std::istringstream fields(line.substr(6));
      fields >> kib;
      return kib * 1024;
    }
  }
  return 0;
}

bool SanitizerBuild() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
  return true;
#else
  return false;
#endif
#else
  return false;
#endif
}

void FaultTest::SetUp() {
  // absl::ErrnoToStatus (every socket error ringnet reports) formats with absl's strerror table,
  // built on first use inside Debian's uninstrumented libabsl_strerror: when two loop threads
  // report their first errors at once, TSan misses the static's guard and reports a race. Built
  // here, before any thread starts, it happens-before every use.
  (void)absl::ErrnoToStatus(ECONNRESET, "warm-up");
  absl::Status entered = EnterNewNetNamespace();
  if (absl::IsPermissionDenied(entered)) {
    GTEST_SKIP() << "fault tests need a network namespace of their own, and this process may "
                    "not create one (run as root, outside a sandbox that drops CAP_SYS_ADMIN): "
                 << entered;
  }
  ASSERT_TRUE(entered.ok()) << entered;
  std::vector<std::string> missing;
  for (const std::string& tool : RequiredTools()) {
    if (!HaveTool(tool)) missing.push_back(tool);
  }
  if (!missing.empty()) {
    GTEST_SKIP() << "missing tools: " << absl::StrJoin(missing, ", ")
                 << " (scripts/ensure_deps.sh test installs nftables and iproute2)";
  }
}

}  // namespace ringnet::faults
