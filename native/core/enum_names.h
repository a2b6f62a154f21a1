// Names of the core's option enums, one table per enum: the N-API layer turns a JS string into the
// enum once with parse_enum (native/napi/convert.h get_enum), and messages print a value with
// enum_name. The core itself never compares strings. Plain C++, no napi.h.
#pragma once
#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>

namespace torchxfer {

template <typename E, std::size_t N>
using EnumNames = std::array<std::pair<const char*, E>, N>;

template <typename E, std::size_t N>
std::optional<E> parse_enum(const EnumNames<E, N>& names, const std::string& text) {
  for (const auto& [name, value] : names)
    if (text == name) return value;
  return std::nullopt;
}

template <typename E, std::size_t N>
const char* enum_name(const EnumNames<E, N>& names, E value) {
  for (const auto& [name, v] : names)
    if (v == value) return name;
  return "?";
}

// "'a', 'b' or 'c'": the accepted names, for messages.
template <typename E, std::size_t N>
std::string enum_choices(const EnumNames<E, N>& names) {
  std::string out;
  for (std::size_t i = 0; i < N; ++i) {
    const char* separator = i == 0 ? "" : i + 1 == N ? " or " : ", ";
    out += std::string(separator) + "'" + names[i].first + "'";
  }
  return out;
}

}  // namespace torchxfer
