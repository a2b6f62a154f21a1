// safetensors: u64 little-endian header length, a JSON header, then the raw little-endian tensor bytes.
#include <algorithm>
#include <cstring>
#include <set>
#include <stdexcept>

#include "../tensor_io.h"
#include "json_lite.h"
#include "weights_file.h"

namespace torchxfer {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& msg) { throw std::runtime_error(path + ": " + msg); }

const std::pair<const char*, torch::ScalarType> kDtypes[] = {
    {"F64", torch::kDouble}, {"F32", torch::kFloat}, {"F16", torch::kHalf}, {"BF16", torch::kBFloat16}, {"I64", torch::kLong},
    {"I32", torch::kInt},    {"I16", torch::kShort}, {"I8", torch::kChar},  {"U8", torch::kByte},         {"BOOL", torch::kBool},
};

const char* safetensors_dtype(torch::ScalarType t) {
  for (auto& [name, type] : kDtypes)
    if (type == t) return name;
  throw std::runtime_error(std::string("dtype ") + c10::toString(t) + " cannot be stored in safetensors");
}

int64_t as_int(const json::Node* n, const std::string& path, const std::string& what) {
  // Bounded before the cast: a double past 2^63 does not fit int64_t (undefined behaviour), and past 2^53 is inexact.
  if (!n || n->kind != json::Node::Kind::Number || !(n->number >= 0 && n->number <= 9007199254740992.0) ||
      n->number != static_cast<double>(static_cast<int64_t>(n->number)))
    fail(path, "safetensors header: " + what + " is not a non-negative integer");
  return static_cast<int64_t>(n->number);
}

}  // namespace

SafetensorsFile parse_safetensors(const std::vector<uint8_t>& bytes, const std::string& path) {
  if (bytes.size() < 8) fail(path, "truncated safetensors file (no header length)");
  uint64_t header_len = 0;
  for (int j = 0; j < 8; ++j) header_len |= static_cast<uint64_t>(bytes[j]) << (8 * j);
  if (header_len > bytes.size() - 8) fail(path, "truncated safetensors file (header of " + std::to_string(header_len) + " bytes, file of " + std::to_string(bytes.size()) + ")");
  json::Node header = json::parse(std::string(reinterpret_cast<const char*>(bytes.data() + 8), header_len), path + ": safetensors header");
  if (header.kind != json::Node::Kind::Object) fail(path, "safetensors header is not a JSON object");
  const uint8_t* base = bytes.data() + 8 + header_len;
  const uint64_t data_len = bytes.size() - 8 - header_len;

  SafetensorsFile out;
  struct Item { uint64_t begin; std::string name; torch::Tensor t; };
  std::vector<Item> items;
  for (auto& [name, entry] : header.members) {
    if (name == "__metadata__") {
      if (entry.kind != json::Node::Kind::Object) fail(path, "safetensors __metadata__ is not an object");
      for (auto& [k, v] : entry.members) {
        if (v.kind != json::Node::Kind::String) fail(path, "safetensors __metadata__ value '" + k + "' is not a string");
        out.metadata[k] = v.str;
      }
      continue;
    }
    const json::Node* dtype = entry.get("dtype");
    const json::Node* shape = entry.get("shape");
    const json::Node* offsets = entry.get("data_offsets");
    if (!dtype || dtype->kind != json::Node::Kind::String || !shape || shape->kind != json::Node::Kind::Array || !offsets ||
        offsets->kind != json::Node::Kind::Array || offsets->items.size() != 2)
      fail(path, "safetensors header entry '" + name + "' lacks dtype, shape or data_offsets");
    auto found = std::find_if(std::begin(kDtypes), std::end(kDtypes), [&](auto& d) { return dtype->str == d.first; });
    if (found == std::end(kDtypes)) fail(path, "tensor '" + name + "' has unsupported dtype " + dtype->str);
    std::vector<int64_t> dims;
    uint64_t numel = 1, nonzero = 1;  // the product of the non-zero dimensions is bounded by the file, before any allocation
    const uint64_t max_elements = data_len / c10::elementSize(found->second);
    for (auto& d : shape->items) {
      dims.push_back(as_int(&d, path, "a dimension of '" + name + "'"));
      uint64_t k = static_cast<uint64_t>(dims.back());
      if (k != 0 && nonzero > max_elements / k) fail(path, "tensor '" + name + "' declares a shape larger than the file's data (corrupt header?)");
      if (k != 0) nonzero *= k;
      numel *= k;
    }
    uint64_t begin = as_int(&offsets->items[0], path, "data_offsets of '" + name + "'");
    uint64_t end = as_int(&offsets->items[1], path, "data_offsets of '" + name + "'");
    if (begin > end || end > data_len) fail(path, "tensor '" + name + "' lies outside the file (truncated?)");
    uint64_t nbytes = numel * c10::elementSize(found->second);
    if (end - begin != nbytes) fail(path, "tensor '" + name + "' has " + std::to_string(end - begin) + " bytes for " + std::to_string(numel) + " elements of " + dtype->str);
    auto t = torch::empty(dims, torch::TensorOptions().dtype(found->second));
    if (nbytes) std::memcpy(t.data_ptr(), base + begin, nbytes);
    items.push_back({begin, name, std::move(t)});
  }
  std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.begin < b.begin; });  // file order
  for (auto& it : items) out.tensors.emplace_back(std::move(it.name), std::move(it.t));
  return out;
}

SafetensorsFile read_safetensors(const std::string& path) {
  auto bytes = read_file_bytes(path);
  if (sniff_weights_format(bytes) != "safetensors") fail(path, "not a safetensors file");
  return parse_safetensors(bytes, path);
}

void write_safetensors(const std::string& path, const StateDict& tensors, const std::map<std::string, std::string>& metadata) {
  std::vector<torch::Tensor> hosts;
  std::set<std::string> seen;
  std::string header = "{";
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    bool first = true;
    for (auto& [k, v] : metadata) {
      header += (first ? "" : ",") + json::quote(k) + ":" + json::quote(v);
      first = false;
    }
    header += "}";
  }
  uint64_t offset = 0;
  for (auto& [name, t] : tensors) {
    if (name == "__metadata__" || !seen.insert(name).second) throw std::runtime_error(path + ": duplicate or reserved tensor name '" + name + "'");
    if (!t.defined()) throw std::runtime_error(path + ": tensor '" + name + "' is undefined");
    hosts.push_back(to_host_contiguous(t));
    const auto& h = hosts.back();
    std::string shape;
    for (int64_t d : h.sizes()) shape += (shape.empty() ? "" : ",") + std::to_string(d);
    uint64_t nbytes = h.nbytes();
    if (header.size() > 1) header += ",";
    header += json::quote(name) + ":{\"dtype\":\"" + safetensors_dtype(h.scalar_type()) + "\",\"shape\":[" + shape + "],\"data_offsets\":[" +
              std::to_string(offset) + "," + std::to_string(offset + nbytes) + "]}";
    offset += nbytes;
  }
  header += "}";
  header.append((8 - header.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned, as the reference writer does
  uint8_t len[8];
  for (int j = 0; j < 8; ++j) len[j] = static_cast<uint8_t>(static_cast<uint64_t>(header.size()) >> (8 * j));
  std::vector<std::pair<const void*, size_t>> pieces{{len, 8}, {header.data(), header.size()}};
  for (auto& h : hosts) pieces.emplace_back(h.data_ptr(), h.nbytes());
  write_file_atomic(path, pieces);
}

}  // namespace torchxfer
