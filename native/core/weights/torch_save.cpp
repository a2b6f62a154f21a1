// torch.save's two formats: the zip archive (torch >= 1.6) and the legacy stream of pickles.
#include <cstring>
#include <map>
#include <stdexcept>

#include "pickle.h"
#include "weights_file.h"
#include "zip_archive.h"

namespace torchxfer {
namespace {

using pickle::Ref;
using K = pickle::Value::Kind;

[[noreturn]] void fail(const std::string& path, const std::string& msg) { throw std::runtime_error(path + ": " + msg); }

// ('storage', torch.FloatStorage, key, location, numel[, view_metadata]) -> its parts, validated.
struct StorageId {
  torch::ScalarType dtype;
  std::string key;
  int64_t numel;
  Ref view;  // legacy only: (view_key, offset, size) or None
};

StorageId parse_storage_id(const Ref& pid, const std::string& path) {
  const auto& t = pid->items;
  if (!pid->is(K::Tuple) || t.size() < 5 || !t[0]->is(K::Str) || t[0]->s != "storage")
    fail(path, "unexpected persistent id in the pickle (expected a ('storage', ...) tuple)");
  if (!t[1]->is(K::Global)) fail(path, "storage type is not a torch.<Type>Storage global");
  if (!t[2]->is(K::Str) || !t[4]->is(K::Int) || t[4]->i < 0) fail(path, "malformed storage id");
  torch::ScalarType dtype;
  try {
    dtype = pickle::storage_scalar_type(t[1]->s);
  } catch (const std::exception& e) {
    fail(path, e.what());  // name the file: the global (an allowed one, but no storage) came from it
  }
  return StorageId{dtype, t[2]->s, t[4]->i, t.size() > 5 ? t[5] : nullptr};
}

Ref storage_value(torch::Tensor t) {
  auto v = pickle::Value::make(K::Tensor);
  v->tensor = std::move(t);
  v->is_storage = true;
  return v;
}

// {name: tensor} or a checkpoint dict holding one ("state_dict", "model", ...); "module." stripped.
StateDict to_state_dict(const Ref& root, const std::string& path) {
  if (!root->is(K::Dict)) fail(path, "the pickled object is a " + pickle::kind_name(root->kind) + ", not a state_dict");
  const Ref* dict = &root;
  bool all_tensors = true;
  for (auto& [k, v] : root->dict) all_tensors = all_tensors && v->is(K::Tensor);
  if (!all_tensors || root->dict.empty()) {
    for (const char* key : {"state_dict", "model_state_dict", "model"}) {
      for (auto& [k, v] : root->dict) {
        if (k->is(K::Str) && k->s == key && v->is(K::Dict)) { dict = &v; break; }
      }
      if (dict != &root) break;
    }
  }
  StateDict out;
  for (auto& [k, v] : (*dict)->dict) {
    if (!k->is(K::Str)) fail(path, "a state_dict key is a " + pickle::kind_name(k->kind) + ", not a string");
    if (!v->is(K::Tensor))
      fail(path, dict == &root ? "not a state_dict: entry '" + k->s + "' is a " + pickle::kind_name(v->kind) + " (no 'state_dict' or 'model' entry found)"
                               : "state_dict entry '" + k->s + "' is a " + pickle::kind_name(v->kind) + ", not a tensor");
    std::string name = k->s.rfind("module.", 0) == 0 ? k->s.substr(7) : k->s;  // DataParallel
    out.emplace_back(std::move(name), v->tensor);
  }
  return out;
}

}  // namespace

StateDict read_torch_zip(const std::vector<uint8_t>& bytes, const std::string& path) {
  ZipArchive zip(bytes, path);
  std::string prefix;
  bool found = false;
  for (auto& n : zip.names()) {
    if (n.size() >= 8 && n.compare(n.size() - 8, 8, "data.pkl") == 0 && n.find("/data/") == std::string::npos) {
      prefix = n.substr(0, n.size() - 8);
      found = true;
      break;
    }
  }
  if (!found) fail(path, "zip archive without data.pkl (not a torch.save file)");
  uint64_t size = 0;
  if (zip.has(prefix + "byteorder")) {
    const uint8_t* b = zip.member(prefix + "byteorder", &size, false);
    if (std::string(reinterpret_cast<const char*>(b), size) != "little") fail(path, "big-endian torch.save files are not supported");
  }
  std::map<std::string, Ref> storages;
  auto load = [&](const Ref& pid) -> Ref {
    StorageId id = parse_storage_id(pid, path);
    auto it = storages.find(id.key);
    if (it != storages.end()) return it->second;
    uint64_t n = 0;
    const uint8_t* data = zip.member(prefix + "data/" + id.key, &n, true);
    // Compared by division: numel * element size may overflow, and torch::empty must never see a huge numel.
    if (static_cast<uint64_t>(id.numel) > n / c10::elementSize(id.dtype))
      fail(path, "storage " + id.key + " holds " + std::to_string(n) + " bytes, fewer than its " + std::to_string(id.numel) + " elements need (truncated?)");
    uint64_t need = static_cast<uint64_t>(id.numel) * c10::elementSize(id.dtype);
    if (n < need) fail(path, "storage " + id.key + " holds " + std::to_string(n) + " bytes, " + std::to_string(need) + " expected (truncated?)");
    auto t = torch::empty({id.numel}, torch::TensorOptions().dtype(id.dtype));
    if (need) std::memcpy(t.data_ptr(), data, need);
    return storages[id.key] = storage_value(std::move(t));
  };
  const uint8_t* pkl = zip.member(prefix + "data.pkl", &size, true);
  return to_state_dict(pickle::unpickle(pkl, size, load, path + ": data.pkl"), path);
}

StateDict read_torch_legacy(const std::vector<uint8_t>& bytes, const std::string& path) {
  size_t pos = 0;
  auto next = [&](const pickle::PersistentLoad& load, const char* what) {
    size_t used = 0;
    Ref v = pickle::unpickle(bytes.data() + pos, bytes.size() - pos, load, path + " (" + what + ")", &used);
    pos += used;
    return v;
  };
  Ref magic = next(nullptr, "magic number");
  static const uint8_t kMagic[] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};  // 0x1950a86a20f9469cfc6c
  if (!magic->is(K::Int) || magic->s != std::string(reinterpret_cast<const char*>(kMagic), sizeof kMagic)) fail(path, "not a torch.save file (bad magic number)");
  Ref protocol = next(nullptr, "protocol version");
  if (!protocol->is(K::Int) || protocol->i != 1001) fail(path, "unsupported legacy torch.save protocol version");
  Ref sys_info = next(nullptr, "sys_info");
  if (sys_info->is(K::Dict)) {
    for (auto& [k, v] : sys_info->dict)
      if (k->is(K::Str) && k->s == "little_endian" && v->is(K::Bool) && !v->b) fail(path, "big-endian torch.save files are not supported");
  }
  // Storages come after the pickle: allocate them when referenced, fill them afterwards.
  std::map<std::string, Ref> roots, views;
  std::map<std::string, torch::ScalarType> root_types;
  auto load = [&](const Ref& pid) -> Ref {
    StorageId id = parse_storage_id(pid, path);
    auto it = roots.find(id.key);
    if (it == roots.end()) {
      // The data follows the pickle, so a storage can be no larger than the file: refuse before allocating.
      if (static_cast<uint64_t>(id.numel) > bytes.size() / c10::elementSize(id.dtype))
        fail(path, "storage " + id.key + " declares " + std::to_string(id.numel) + " elements, more than the file holds (corrupt?)");
      it = roots.emplace(id.key, storage_value(torch::empty({id.numel}, torch::TensorOptions().dtype(id.dtype)))).first;
      root_types[id.key] = id.dtype;
    }
    if (!id.view || id.view->is(K::None)) return it->second;
    const auto& v = id.view->items;
    if (!id.view->is(K::Tuple) || v.size() != 3 || !v[0]->is(K::Str) || !v[1]->is(K::Int) || !v[2]->is(K::Int)) fail(path, "malformed storage view");
    if (auto vit = views.find(v[0]->s); vit != views.end()) return vit->second;
    const auto& root = it->second->tensor;
    if (v[1]->i < 0 || v[2]->i < 0 || v[1]->i > root.numel() - v[2]->i) fail(path, "storage view lies outside its storage");
    return views[v[0]->s] = storage_value(root.narrow(0, v[1]->i, v[2]->i));
  };
  Ref root = next(load, "object");
  Ref keys = next(nullptr, "storage keys");
  if (!keys->is(K::List)) fail(path, "storage key list missing");
  std::map<std::string, bool> filled;
  for (auto& k : keys->items) {
    if (!k->is(K::Str)) fail(path, "storage key is not a string");
    if (bytes.size() - pos < 8) fail(path, "truncated: storage " + k->s + " is missing");
    int64_t numel = 0;
    std::memcpy(&numel, bytes.data() + pos, 8);
    pos += 8;
    auto it = roots.find(k->s);
    if (it == roots.end()) fail(path, "storage " + k->s + " is not referenced by the pickle");
    const torch::Tensor& t = it->second->tensor;
    if (filled[k->s]) fail(path, "storage " + k->s + " appears twice");
    filled[k->s] = true;
    if (numel != t.numel()) fail(path, "storage " + k->s + " holds " + std::to_string(numel) + " elements, " + std::to_string(t.numel()) + " expected");
    size_t nbytes = static_cast<size_t>(numel) * c10::elementSize(root_types[k->s]);
    if (bytes.size() - pos < nbytes) fail(path, "truncated: storage " + k->s + " needs " + std::to_string(nbytes) + " bytes");
    if (nbytes) std::memcpy(t.data_ptr(), bytes.data() + pos, nbytes);
    pos += nbytes;
  }
  for (auto& [key, _] : roots)
    if (!filled[key]) fail(path, "truncated or corrupt: the data of storage " + key + " is missing");
  return to_state_dict(root, path);
}

}  // namespace torchxfer
