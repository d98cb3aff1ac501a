#pragma once
// Text of bounded length stored inline, trivially destructible; a copy copies the text only
// (not the whole capacity: a trace_context or an event_context is copied a few times per event).
//
// What event_context is made of, so that `co_await p.async_publish(e, event_context{.source =
// "x"})` is safe with GCC 12: that compiler destroys an aggregate temporary in a co_await
// expression twice (ctor 1, dtor 2; a pure-Asio reproduction is in docs/producer.md), which for
// std::string members is a double free. A type with a trivial destructor makes the second
// destruction harmless. Text longer than the capacity is cut and remembered (overflowed()):
// publishing then fails naming the field instead of sending a shortened id.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace txova::kafka {

template <std::size_t N>
class fixed_string {
  static_assert(N > 0 && N < 256, "fixed_string keeps its size in one byte");

public:
  fixed_string() noexcept {}  // data_ is read only up to size_
  fixed_string(const fixed_string& o) noexcept : size_(o.size_), overflowed_(o.overflowed_) { std::memcpy(data_, o.data_, size_); }
  fixed_string& operator=(const fixed_string& o) noexcept {
    size_ = o.size_;
    overflowed_ = o.overflowed_;
    std::memmove(data_, o.data_, size_);
    return *this;
  }
  fixed_string(std::string_view s) noexcept { assign(s); }  // NOLINT: implicit, like std::string
  fixed_string(const char* s) noexcept : fixed_string(std::string_view(s ? s : "")) {}
  fixed_string(const std::string& s) noexcept : fixed_string(std::string_view(s)) {}

  static constexpr std::size_t capacity() noexcept { return N; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  /// The text given was longer than capacity() and was cut.
  bool overflowed() const noexcept { return overflowed_; }
  std::string_view view() const noexcept { return {data_, size_}; }
  operator std::string_view() const noexcept { return view(); }
  std::string str() const { return std::string(view()); }

  friend bool operator==(const fixed_string& a, const fixed_string& b) noexcept { return a.view() == b.view(); }
  friend bool operator==(const fixed_string& a, std::string_view b) noexcept { return a.view() == b; }

private:
  void assign(std::string_view s) noexcept {
    overflowed_ = s.size() > N;
    size_ = static_cast<std::uint8_t>(overflowed_ ? N : s.size());
    std::memcpy(data_, s.data(), size_);
  }

  std::uint8_t size_ = 0;
  bool overflowed_ = false;
  char data_[N];
};

}  // namespace txova::kafka
