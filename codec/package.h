// Package: the unit a codec decodes from bytes and encodes to bytes (getty's "pkg").
//
// Byte codecs (raw, length-field, line, WebSocket messages) carry bytes; the bytes may be borrowed
// from the receive buffer, which is valid only during the `OnMessage` call that delivers the
// package. Call `Own()` (or copy the package) to keep it longer. Typed codecs carry any value
// (`Package::Of(MyMessage{...})`), the way getty's handlers return `interface{}`.
//
// Example:
//
//   Package p = Package::View("hello");          // borrowed bytes
//   Package q(std::string("hello"));              // owned bytes
//   Package r = Package::Of(Order{42});           // a typed value
//   if (const Order* o = r.value<Order>()) ...
//
// Thread safety: a Package is a value; distinct packages may be used on distinct threads.
#ifndef RINGNET_CODEC_PACKAGE_H_
#define RINGNET_CODEC_PACKAGE_H_

#include <any>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"

namespace ringnet::codec {

// What kind of message a package is; WebSocket distinguishes text from binary, TCP and UDP do not.
enum class PackageKind : uint8_t { kBinary, kText };

class Package {
 public:
  Package() = default;
  // Owns `bytes`.
  explicit Package(std::string bytes, PackageKind kind = PackageKind::kBinary)
      : owned_(std::move(bytes)), owns_(true), kind_(kind) {}

  // Borrows `bytes`: the caller keeps them alive while the package is used.
  static Package View(absl::string_view bytes, PackageKind kind = PackageKind::kBinary) {
    Package p;
    p.view_ = bytes;
    p.kind_ = kind;
    return p;
  }

  // Carries a typed value (for codecs that decode into application types).
  template <typename T>
  static Package Of(T value) {
    Package p;
    p.value_ = std::move(value);
    return p;
  }

  Package(const Package& other) { *this = other; }
  Package& operator=(const Package& other) {
    if (this == &other) return *this;
    owns_ = other.owns_;
    kind_ = other.kind_;
    value_ = other.value_;
    // Copies own their bytes, so a copy outlives the buffer the original borrowed from.
    owned_.assign(other.bytes().data(), other.bytes().size());
    owns_ = true;
    view_ = {};
    return *this;
  }
  Package(Package&&) = default;
  Package& operator=(Package&&) = default;

  // The package's bytes (empty for a typed value).
  absl::string_view bytes() const { return owns_ ? absl::string_view(owned_) : view_; }
  size_t size() const { return bytes().size(); }
  PackageKind kind() const { return kind_; }
  void set_kind(PackageKind kind) { kind_ = kind; }

  // Whether the bytes are owned (safe to keep) rather than borrowed.
  bool owns_bytes() const { return owns_; }
  // Copies borrowed bytes into the package so it can be kept.
  void Own() {
    if (owns_) return;
    owned_.assign(view_.data(), view_.size());
    owns_ = true;
    view_ = {};
  }
  // Moves the bytes out (copying them if borrowed).
  std::string TakeBytes() && {
    Own();
    return std::move(owned_);
  }

  // The typed value, or nullptr if the package holds no T.
  bool has_value() const { return value_.has_value(); }
  template <typename T>
  const T* value() const {
    return std::any_cast<T>(&value_);
  }
  template <typename T>
  T* mutable_value() {
    return std::any_cast<T>(&value_);
  }

 private:
  absl::string_view view_;
  std::string owned_;
  bool owns_ = false;
  PackageKind kind_ = PackageKind::kBinary;
  std::any value_;
};

}  // namespace ringnet::codec

#endif  // RINGNET_CODEC_PACKAGE_H_
