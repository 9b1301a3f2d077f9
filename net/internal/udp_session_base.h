// UdpSessionBase: what both kinds of UDP session (UdpSession, which owns a socket, and
// UdpPeerSession, which sends through its endpoint's) add to SessionBase: the books on dropped
// datagrams.
//
// Every datagram that was written and never sent counts in SessionStat::datagrams_dropped, and
// none is dropped silently. Refusals (a write past write_high_water returns ResourceExhausted)
// can come by the million from a writer that ignores the status, so they are reported
// rate-limited: the first at the end of the loop iteration, later ones as one summary at most
// once a second ("udp session 7: 1234 datagrams dropped in the last 1 s: the send queue was full
// (write_high_water 4096 bytes)"), and whatever is still unreported when the session closes
// before its OnClose. Other drops come one event at a time and their callers report them with
// the event (a failed Connect with its count, a send error, a close with datagrams waiting) and
// only tell the books (NoteDropsReported). Datagrams the kernel still held at the close and
// that come back cancelled are counted after OnClose; the close report announces them.
//
// Loop thread only.
#ifndef RINGNET_NET_INTERNAL_UDP_SESSION_BASE_H_
#define RINGNET_NET_INTERNAL_UDP_SESSION_BASE_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "ringnet/net/internal/session_base.h"

namespace ringnet::net::internal {

class UdpSessionBase : public SessionBase {
 public:
  using SessionBase::SessionBase;

  // SessionCore.
  // A posted write refused at the high-water mark was counted and reported (see MarkReported);
  // anything else is reported as usual.
  void ReportError(const absl::Status& error) override;
  void ReportRefusedDatagrams() override;

 protected:
  // At most one summary of refused datagrams per period, after the first report.
  static constexpr int64_t kDropReportPeriodNs = 1'000'000'000;

  // Counts `n` dropped datagrams.
  void CountDrops(uint64_t n) {
    if (n > 0) shared_->datagrams_dropped.fetch_add(n, std::memory_order_relaxed);
  }
  // The caller reports `n` of the counted drops itself (so the summaries leave them out).
  void NoteDropsReported(uint64_t n) { reported_ += n; }
  // A write refused at the high-water mark: counted and reported (rate-limited). Returns
  // `error`, marked for ReportError.
  absl::Status DropRefused(absl::Status error);
  // From FailPendingSends: the report still due goes out now, before OnClose.
  void FlushDropReports();
  // Why refusals happen, for their reports: "the send queue was full (write_high_water ...)".
  virtual std::string RefusalCause() const = 0;

 private:
  // Reports soon: at the end of the iteration, or when the period since the last report ends.
  void ScheduleDropReport();
  // Reports the drops counted and not reported yet (none: nothing); a summary names the time
  // since the last report.
  void ReportDrops(bool summary, bool before_close);

  uint64_t reported_ = 0;       // of datagrams_dropped, the drops some report covered
  int64_t last_report_ns_ = 0;  // 0: none yet
  runtime::TimerId summary_timer_;
  bool report_due_ = false;  // a report is deferred or timed (summary_timer_)
};

}  // namespace ringnet::net::internal

#endif  // RINGNET_NET_INTERNAL_UDP_SESSION_BASE_H_
