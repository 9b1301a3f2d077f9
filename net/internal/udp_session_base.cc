#include "ringnet/net/internal/udp_session_base.h"

#include <cmath>
#include <string>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace ringnet::net::internal {
namespace {

// Marks a refused write's status: its drop is counted and reported (summarised) already.
constexpr absl::string_view kDropReportedPayload = "type.ringnet/udp-drop-reported";

// "1 s", "0.4 s", "30 ms": the length of a summary's window.
std::string WindowLength(int64_t ns) {
  if (ns < 100'000'000) return absl::StrCat(ns / 1'000'000, " ms");
  return absl::StrCat(std::round(static_cast<double>(ns) / 1e8) / 10, " s");
}

}  // namespace

void UdpSessionBase::ReportError(const absl::Status& error) {
  if (error.GetPayload(kDropReportedPayload).has_value()) return;
  SessionBase::ReportError(error);
}

void UdpSessionBase::ReportRefusedDatagrams() {
  // Cleared first: a refusal from now on posts again, and every one counted before is in the
  // count this report reads (the exchange pairs with the writer's).
  shared_->drop_report_posted.exchange(false, std::memory_order_acq_rel);
  ScheduleDropReport();
}

absl::Status UdpSessionBase::DropRefused(absl::Status error) {
  CountDrops(1);
  ScheduleDropReport();
  error.SetPayload(kDropReportedPayload, absl::Cord());
  return error;
}

void UdpSessionBase::ScheduleDropReport() {
  if (report_due_ || closed()) return;  // the report due covers this drop too
  report_due_ = true;
  const int64_t wait =
      last_report_ns_ == 0 ? 0 : last_report_ns_ + kDropReportPeriodNs - loop_->NowNs();
  if (wait <= 0) {
    // At once, though not inside the write that was refused: after this iteration's callbacks.
    // (Safe to capture: the session is open, so its release is deferred after this.)
    loop_->Defer([this] {
      if (report_due_) {  // else the close reported it meanwhile
        report_due_ = false;
        ReportDrops(/*summary=*/false, /*before_close=*/false);
      }
    });
    return;
  }
  summary_timer_ = loop_->RunAfter(absl::Nanoseconds(wait), [this] {
    summary_timer_ = runtime::TimerId();
    report_due_ = false;
    ReportDrops(/*summary=*/true, /*before_close=*/false);
  });
}

void UdpSessionBase::FlushDropReports() {
  // A summary still waiting for its period covers a window that ends now.
  const bool summary = summary_timer_.valid();
  if (summary) {
    loop_->Cancel(summary_timer_);
    summary_timer_ = runtime::TimerId();
  }
  report_due_ = false;
  ReportDrops(summary, /*before_close=*/true);
}

void UdpSessionBase::ReportDrops(bool summary, bool before_close) {
  const uint64_t dropped = shared_->datagrams_dropped.load(std::memory_order_relaxed);
  if (dropped <= reported_) return;
  const uint64_t n = dropped - reported_;
  reported_ = dropped;
  const int64_t now = loop_->NowNs();
  std::string message = absl::StrCat("udp session ", id(), ": ");
  if (n == 1) {
    absl::StrAppend(&message, "datagram dropped");
  } else {
    absl::StrAppend(&message, n, " datagrams dropped");
  }
  if (summary) absl::StrAppend(&message, " in the last ", WindowLength(now - last_report_ns_));
  absl::StrAppend(&message, ": ", RefusalCause());
  last_report_ns_ = now;
  const absl::Status report = absl::ResourceExhaustedError(message);
  if (before_close) {
    DeliverErrorBeforeClose(report);
  } else {
    DeliverError(report);
  }
}

}  // namespace ringnet::net::internal
