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

constexpr uint64_t kMaxHeaderBytes = 100'000'000;  // the reference reader's MAX_HEADER_SIZE
constexpr uint64_t kMaxHeaderValues = 4'000'000;   // ~400 MB of parsed JSON; 400,000 tensors
constexpr size_t kMaxDims = 64;

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

// Shape and size of one header entry, checked against the data section before anything is allocated.
struct EntryLayout {
  torch::ScalarType dtype;
  std::vector<int64_t> dims;
  uint64_t begin, end;
};

EntryLayout entry_layout(const std::string& name, const json::Node& entry, uint64_t data_len, const std::string& path) {
  const json::Node* dtype = entry.get("dtype");
  const json::Node* shape = entry.get("shape");
  const json::Node* offsets = entry.get("data_offsets");
  if (!dtype || dtype->kind != json::Node::Kind::String || !shape || shape->kind != json::Node::Kind::Array || !offsets ||
      offsets->kind != json::Node::Kind::Array || offsets->items.size() != 2)
    fail(path, "safetensors header entry '" + name + "' lacks dtype, shape or data_offsets");
  auto found = std::find_if(std::begin(kDtypes), std::end(kDtypes), [&](auto& d) { return dtype->str == d.first; });
  if (found == std::end(kDtypes)) fail(path, "tensor '" + name + "' has unsupported dtype " + dtype->str);
  if (shape->items.size() > kMaxDims) fail(path, "tensor '" + name + "' has " + std::to_string(shape->items.size()) + " dimensions (at most " + std::to_string(kMaxDims) + ")");
  EntryLayout out{found->second, {}, 0, 0};
  bool zero = false;
  for (auto& d : shape->items) {
    out.dims.push_back(as_int(&d, path, "a dimension of '" + name + "'"));
    zero = zero || out.dims.back() == 0;
  }
  // The product of the non-zero dimensions is bounded before any allocation: by the data section, or,
  // for an empty tensor (a [0, 5] bias holds no bytes), by what the shape arithmetic can hold.
  const uint64_t esize = c10::elementSize(found->second);
  const uint64_t max_elements = zero ? uint64_t{1} << 62 : data_len / esize;
  uint64_t nonzero = 1;
  for (int64_t k : out.dims) {
    if (k == 0) continue;
    if (nonzero > max_elements / static_cast<uint64_t>(k)) fail(path, "tensor '" + name + "' declares a shape larger than the file's data (corrupt header?)");
    nonzero *= static_cast<uint64_t>(k);
  }
  const uint64_t numel = zero ? 0 : nonzero;
  out.begin = as_int(&offsets->items[0], path, "data_offsets of '" + name + "'");
  out.end = as_int(&offsets->items[1], path, "data_offsets of '" + name + "'");
  if (out.begin > out.end || out.end > data_len) fail(path, "tensor '" + name + "' lies outside the file (truncated?)");
  if (out.end - out.begin != numel * esize)
    fail(path, "tensor '" + name + "' has " + std::to_string(out.end - out.begin) + " bytes for " + std::to_string(numel) + " elements of " + dtype->str);
  return out;
}

}  // namespace

SafetensorsFile parse_safetensors(const std::vector<uint8_t>& bytes, const std::string& path) {
  if (bytes.size() < 8) fail(path, "truncated safetensors file (no header length)");
  uint64_t header_len = 0;
  for (int j = 0; j < 8; ++j) header_len |= static_cast<uint64_t>(bytes[j]) << (8 * j);
  if (header_len > kMaxHeaderBytes)
    fail(path, "safetensors header of " + std::to_string(header_len) + " bytes is larger than the " + std::to_string(kMaxHeaderBytes) + "-byte limit of the format");
  if (header_len > bytes.size() - 8) fail(path, "truncated safetensors file (header of " + std::to_string(header_len) + " bytes, file of " + std::to_string(bytes.size()) + ")");
  // A real header spends 6 or more bytes per JSON value (a name, a dtype, a few dimensions and two
  // offsets per tensor); a flood of `0,` spends 2, and each value costs ~100 bytes of memory.
  const size_t max_values = std::min<uint64_t>(kMaxHeaderValues, 1024 + header_len / 4);
  json::Node header = json::parse(std::string(reinterpret_cast<const char*>(bytes.data() + 8), header_len), path + ": safetensors header", max_values);
  if (header.kind != json::Node::Kind::Object) fail(path, "safetensors header is not a JSON object");
  const uint8_t* base = bytes.data() + 8 + header_len;
  const uint64_t data_len = bytes.size() - 8 - header_len;

  SafetensorsFile out;
  std::vector<std::pair<std::string, EntryLayout>> entries;
  for (auto& [name, entry] : header.members) {
    if (name == "__metadata__") {
      if (entry.kind != json::Node::Kind::Object) fail(path, "safetensors __metadata__ is not an object");
      for (auto& [k, v] : entry.members) {
        if (v.kind != json::Node::Kind::String) fail(path, "safetensors __metadata__ value '" + k + "' is not a string");
        out.metadata[k] = v.str;
      }
      continue;
    }
    entries.emplace_back(name, entry_layout(name, entry, data_len, path));
  }
  // As the reference reader: the byte ranges, in offset order, tile the data section exactly. Two tensors
  // can then never share bytes (which would let a small file make many large copies).
  std::stable_sort(entries.begin(), entries.end(), [](auto& a, auto& b) { return a.second.begin < b.second.begin; });
  uint64_t expected = 0;
  for (auto& [name, e] : entries) {
    if (e.begin != expected)
      fail(path, "tensor '" + name + "' starts at data byte " + std::to_string(e.begin) + ", not " + std::to_string(expected) +
                     " (tensors' byte ranges must be disjoint and contiguous)");
    expected = e.end;
  }
  if (expected != data_len)
    fail(path, "the tensors cover " + std::to_string(expected) + " of the " + std::to_string(data_len) + " data bytes (tensors' byte ranges must tile the data section)");
  for (auto& [name, e] : entries) {
    auto t = torch::empty(e.dims, torch::TensorOptions().dtype(e.dtype));
    if (e.end > e.begin) std::memcpy(t.data_ptr(), base + e.begin, e.end - e.begin);
    out.tensors.emplace_back(std::move(name), std::move(t));  // file order
  }
  return out;
}

SafetensorsFile read_safetensors(const std::string& path) {
  auto bytes = read_file_bytes(path);
  if (sniff_weights_format(bytes) != "safetensors") fail(path, "not a safetensors file: " + describe_non_weights(bytes));
  auto out = parse_safetensors(bytes, path);
  check_tensor_names(out.tensors, path);
  return out;
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
