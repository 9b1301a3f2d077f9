#include "ringnet/codec/websocket/http.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace ringnet::codec::websocket {
namespace {

bool IsTokenChar(char c) {
  if (absl::ascii_isalnum(static_cast<unsigned char>(c))) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

// Field values: visible ASCII, obs-text (0x80-0xFF), space and tab.
bool IsValueChar(char c) {
  const unsigned char u = static_cast<unsigned char>(c);
  return u == '\t' || (u >= 0x20 && u != 0x7F);
}

absl::string_view TrimWhitespace(absl::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

absl::StatusOr<HttpField> ParseField(absl::string_view line) {
  const size_t colon = line.find(':');
  if (colon == absl::string_view::npos) {
    return absl::InvalidArgumentError("websocket: header line without a colon");
  }
  HttpField field{line.substr(0, colon), TrimWhitespace(line.substr(colon + 1))};
  if (!IsToken(field.name)) {
    return absl::InvalidArgumentError("websocket: malformed header name");
  }
  for (char c : field.value) {
    if (!IsValueChar(c)) {
      return absl::InvalidArgumentError("websocket: control character in a header value");
    }
  }
  return field;
}

// "HTTP/1.1" up to "HTTP/1.9".
bool IsHttp11OrLater(absl::string_view version) {
  return version.size() == 8 && absl::StartsWith(version, "HTTP/1.") && version[7] >= '1' &&
         version[7] <= '9';
}

}  // namespace

std::vector<absl::string_view> HttpHead::Values(absl::string_view name) const {
  std::vector<absl::string_view> values;
  for (const HttpField& f : fields) {
    if (absl::EqualsIgnoreCase(f.name, name)) values.push_back(f.value);
  }
  return values;
}

size_t HttpHead::Count(absl::string_view name) const {
  size_t n = 0;
  for (const HttpField& f : fields) n += absl::EqualsIgnoreCase(f.name, name) ? 1 : 0;
  return n;
}

size_t FindHeadEnd(absl::string_view buffered) {
  const size_t pos = buffered.find("\r\n\r\n");
  return pos == absl::string_view::npos ? 0 : pos + 4;
}

HeadSearch FindHead(absl::string_view buffered, size_t max_bytes, size_t* length) {
  *length = FindHeadEnd(buffered.substr(0, max_bytes));
  if (*length > 0) return HeadSearch::kComplete;
  return buffered.size() >= max_bytes ? HeadSearch::kTooLarge : HeadSearch::kIncomplete;
}

absl::StatusOr<RequestLine> ParseRequestLine(absl::string_view line) {
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == absl::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == absl::string_view::npos) {
    return absl::InvalidArgumentError("websocket: malformed HTTP request line");
  }
  RequestLine parsed{line.substr(0, sp1), line.substr(sp1 + 1, sp2 - sp1 - 1)};
  if (!IsToken(parsed.method) || parsed.target.empty()) {
    return absl::InvalidArgumentError("websocket: malformed HTTP request line");
  }
  for (char c : parsed.target) {
    if (c <= 0x20 || c >= 0x7F) {
      return absl::InvalidArgumentError("websocket: malformed HTTP request target");
    }
  }
  if (!IsHttp11OrLater(line.substr(sp2 + 1))) {
    return absl::InvalidArgumentError("websocket: not an HTTP/1.1 request");
  }
  return parsed;
}

absl::StatusOr<StatusLine> ParseStatusLine(absl::string_view line) {
  // HTTP/1.1 SP 3DIGIT SP reason-phrase; a missing phrase and its space are
  // tolerated.
  if (line.size() < 12 || !IsHttp11OrLater(line.substr(0, 8)) || line[8] != ' ' ||
      (line.size() > 12 && line[12] != ' ')) {
    return absl::InvalidArgumentError("websocket: malformed HTTP/1.1 status line");
  }
  StatusLine parsed;
  for (size_t i = 9; i < 12; ++i) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(line[i]))) {
      return absl::InvalidArgumentError("websocket: malformed HTTP/1.1 status line");
    }
    parsed.status = parsed.status * 10 + (line[i] - '0');
  }
  if (line.size() > 12) parsed.reason = line.substr(13);
  return parsed;
}

absl::StatusOr<HttpHead> ParseHead(absl::string_view head, size_t max_fields) {
  if (!absl::EndsWith(head, "\r\n\r\n")) {
    return absl::InvalidArgumentError("websocket: HTTP head does not end with CRLF CRLF");
  }
  head.remove_suffix(2);  // each line now ends with CRLF
  HttpHead parsed;
  bool first = true;
  while (!head.empty()) {
    const size_t eol = head.find("\r\n");
    const absl::string_view line = head.substr(0, eol);
    head.remove_prefix(eol + 2);
    if (line.find('\n') != absl::string_view::npos || line.find('\r') != absl::string_view::npos) {
      return absl::InvalidArgumentError("websocket: bare CR or LF in HTTP head");
    }
    if (first) {
      parsed.start_line = line;
      first = false;
      continue;
    }
    if (line.empty() || line.front() == ' ' || line.front() == '\t') {
      return absl::InvalidArgumentError("websocket: obsolete header line folding");
    }
    if (parsed.fields.size() == max_fields) {
      return absl::ResourceExhaustedError(
          absl::StrCat("websocket: more than ", max_fields, " header fields"));
    }
    absl::StatusOr<HttpField> field = ParseField(line);
    if (!field.ok()) return field.status();
    parsed.fields.push_back(*field);
  }
  return parsed;
}

bool IsToken(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsTokenChar(c)) return false;
  }
  return true;
}

std::vector<absl::string_view> SplitList(absl::string_view value) {
  std::vector<absl::string_view> elements;
  auto add = [&](absl::string_view element) {
    element = TrimWhitespace(element);
    if (!element.empty()) elements.push_back(element);
  };
  bool quoted = false;
  size_t start = 0;
  for (size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (quoted && c == '\\') {
      ++i;  // skip the escaped character
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      add(value.substr(start, i - start));
      start = i + 1;
    }
  }
  add(value.substr(start));
  return elements;
}

bool ListContainsToken(const std::vector<absl::string_view>& values, absl::string_view token) {
  for (absl::string_view value : values) {
    for (absl::string_view element : SplitList(value)) {
      if (absl::EqualsIgnoreCase(element, token)) return true;
    }
  }
  return false;
}

}  // namespace ringnet::codec::websocket
