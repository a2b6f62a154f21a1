// The small subset of JSON a safetensors header needs: parse into an ordered tree, quote strings.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace torchxfer::json {

struct Node {
  enum class Kind { Null, Bool, Number, String, Array, Object };
  Kind kind = Kind::Null;
  bool b = false;
  double number = 0;
  std::string str;
  std::vector<Node> items;                             // Array
  std::vector<std::pair<std::string, Node>> members;   // Object, in document order
  const Node* get(const std::string& key) const;
};

// Throws std::runtime_error("<what>: invalid JSON ... at offset N"), also when the text holds more
// than `max_values` values (each costs ~100 bytes: the caller bounds memory by the text's size).
Node parse(const std::string& text, const std::string& what, size_t max_values = 1'000'000);
std::string quote(const std::string& s);

}  // namespace torchxfer::json
