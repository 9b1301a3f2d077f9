#include "ringnet/codec/line_codec.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace ringnet::codec {

absl::StatusOr<size_t> LineCodec::Decode(absl::string_view input, Package* pkg) {
  // A line of max_line_length bytes may carry "\r\n": look that far and no further.
  const size_t window = std::min(input.size(), max_line_length_ + 2);
  const size_t newline = input.substr(0, window).find('\n');
  if (newline == absl::string_view::npos) {
    if (input.size() > max_line_length_ + 1) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "line codec: no end of line within the maximum of ", max_line_length_, " bytes"));
    }
    return 0;
  }
  size_t length = newline;
  if (length > 0 && input[length - 1] == '\r') --length;
  if (length > max_line_length_) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "line codec: line of ", length, " bytes exceeds the maximum of ", max_line_length_));
  }
  *pkg = Package::View(input.substr(0, length));
  return newline + 1;
}

absl::Status LineCodec::Encode(const Package& pkg, std::string* out) {
  const absl::string_view line = pkg.bytes();
  if (line.find('\n') != absl::string_view::npos) {
    return absl::InvalidArgumentError("line codec: a line to send contains '\\n'");
  }
  if (!line.empty() && line.back() == '\r') {
    // The reader drops a '\r' before the '\n': the peer would get the line without it.
    return absl::InvalidArgumentError("line codec: a line to send ends with '\\r'");
  }
  if (line.size() > max_line_length_) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "line codec: line of ", line.size(), " bytes exceeds the maximum of ", max_line_length_));
  }
  out->append(line.data(), line.size());
  out->push_back('\n');
  return absl::OkStatus();
}

}  // namespace ringnet::codec
