// torch.save's two formats: the zip archive (torch >= 1.6) and the legacy stream of pickles.
#include <algorithm>
#include <cstring>
#include <map>
#include <set>
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
  std::string location;  // "cpu", "cuda:0": read onto the CPU whatever it says
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
  return StorageId{dtype, t[2]->s, t[4]->i, t.size() > 5 ? t[5] : nullptr, t[3]->is(K::Str) ? t[3]->s.substr(0, 32) : ""};
}

Ref storage_value(torch::Tensor t) {
  auto v = pickle::Value::make(K::Tensor);
  v->tensor = std::move(t);
  v->is_storage = true;
  return v;
}

// The tensors of a pickled module, by PyTorch's state_dict() rule: each module's parameters, then its
// persistent buffers, then its children, names joined by '.'. Iterative: depth is bounded anyway.
StateDict walk_module(const Ref& root, const std::string& path) {
  StateDict out;
  std::vector<std::pair<const pickle::Value*, std::string>> todo{{root.get(), ""}};
  while (!todo.empty()) {
    auto [module, prefix] = todo.back();
    todo.pop_back();
    const std::string where = prefix.empty() ? "the pickled " + module->s : "submodule '" + prefix.substr(0, prefix.size() - 1) + "' (" + module->s + ")";
    if (!module->state || !module->state->is(K::Dict)) fail(path, where + " has no attribute dict (not a module pickled by torch.save)");
    const pickle::Value& attrs = *module->state;
    std::vector<std::string> non_persistent;
    if (auto set = attrs.get("_non_persistent_buffers_set"); set && (*set)->is(K::List))
      for (auto& n : (*set)->items)
        if (n->is(K::Str)) non_persistent.push_back(n->s);
    for (const char* field : {"_parameters", "_buffers"}) {
      const Ref* tensors = attrs.get(field);
      if (!tensors) continue;  // torch < 1.0 modules without buffers
      if (!(*tensors)->is(K::Dict)) fail(path, where + ": " + field + " is a " + pickle::kind_name((*tensors)->kind) + ", not a dict");
      for (auto& [k, v] : (*tensors)->dict) {
        if (!k->is(K::Str)) fail(path, where + ": a name in " + field + " is not a string");
        if (v->is(K::None)) continue;
        if (!v->is(K::Tensor)) fail(path, where + ": " + field + " entry '" + k->s + "' is a " + pickle::kind_name(v->kind) + ", not a tensor");
        if (std::string(field) == "_buffers" && std::find(non_persistent.begin(), non_persistent.end(), k->s) != non_persistent.end()) continue;
        out.emplace_back(prefix + k->s, v->tensor);
      }
    }
    const Ref* children = attrs.get("_modules");
    if (!children) continue;
    if (!(*children)->is(K::Dict)) fail(path, where + ": _modules is not a dict");
    auto& kids = (*children)->dict;
    for (auto it = kids.rbegin(); it != kids.rend(); ++it) {  // reversed onto the stack: visited in order
      auto& [k, v] = *it;
      if (!k->is(K::Str)) fail(path, where + ": a submodule name is not a string");
      if (v->is(K::None)) continue;
      if (!v->is(K::Object) || !pickle::is_module_class(v->s))
        fail(path, where + ": submodule '" + k->s + "' is a " + (v->is(K::Object) ? v->s : pickle::kind_name(v->kind)) + ", not a module");
      todo.emplace_back(v.get(), prefix + k->s + ".");
    }
  }
  return out;
}

// Up to 8 distinct storage locations, for the report.
void note_location(TorchProvenance& p, const std::string& location) {
  if (location.empty() || p.locations.size() >= 8) return;
  if (std::find(p.locations.begin(), p.locations.end(), location) == p.locations.end()) p.locations.push_back(location);
}

// The torch era the pickle's globals tell, and the storage types it named.
void note_globals(TorchProvenance& p, const std::set<std::string>& seen, const std::string& format_era, bool legacy) {
  p.era = format_era;
  if (legacy && seen.count("torch._utils._rebuild_tensor") && !seen.count("torch._utils._rebuild_tensor_v2"))
    p.era = "torch 0.3 or earlier (legacy format; tensors rebuilt by _rebuild_tensor, 0.4 brought _rebuild_tensor_v2)";
  for (auto& g : seen)
    if (g.rfind("torch._utils.", 0) != 0) p.storage_types.push_back(g);
}

bool is_module(const Ref& v) { return v->is(K::Object) && pickle::is_module_class(v->s); }

std::string module_note(const Ref& v) { return "pickled module of class " + v->s + ", read as data"; }

// The keys under which training scripts keep the weights in a checkpoint, in order of preference.
constexpr const char* kCheckpointKeys[] = {"state_dict", "model_state_dict", "model", "net", "network", "state_dict_ema"};

// {name: tensor}, a pickled module, or a checkpoint dict holding either; "module." (DataParallel) stripped.
TorchObject to_state_dict(const Ref& root, const std::string& path) {
  TorchObject out;
  const Ref* dict = &root;
  if (is_module(root)) {
    out.tensors = walk_module(root, path);
    out.container = module_note(root);
  } else {
    if (!root->is(K::Dict))
      fail(path, "the pickled object is a " + (root->is(K::Object) ? root->s : pickle::kind_name(root->kind)) + ", not a state_dict");
    bool all_tensors = !root->dict.empty();
    for (auto& [k, v] : root->dict) all_tensors = all_tensors && v->is(K::Tensor);
    out.container = "state_dict";
    if (!all_tensors) {
      for (const char* key : kCheckpointKeys) {
        const Ref* v = root->get(key);
        if (!v || !((*v)->is(K::Dict) || is_module(*v))) continue;
        dict = v;
        out.container = std::string("checkpoint, weights under '") + key + "'";
        for (auto& [k, _] : root->dict)
          if (k->is(K::Str) && k->s != key && out.provenance.checkpoint_keys.size() < 32) out.provenance.checkpoint_keys.push_back(k->s.substr(0, 64));
        if (is_module(*v)) {
          out.tensors = walk_module(*v, path);
          out.container += ": " + module_note(*v);
        }
        break;
      }
    }
    if (out.tensors.empty()) {
      for (auto& [k, v] : (*dict)->dict) {
        if (!k->is(K::Str)) fail(path, "a state_dict key is a " + pickle::kind_name(k->kind) + ", not a string");
        if (v->is(K::Tensor)) { out.tensors.emplace_back(k->s, v->tensor); continue; }
        if (dict != &root) fail(path, "state_dict entry '" + k->s + "' is a " + pickle::kind_name(v->kind) + ", not a tensor");
        std::string keys;
        for (size_t j = 0; j < root->dict.size() && j < 12; ++j)
          if (root->dict[j].first->is(K::Str)) keys += (keys.empty() ? "" : ", ") + root->dict[j].first->s.substr(0, 64);
        fail(path, "not a state_dict: entry '" + k->s + "' is a " + (v->is(K::Object) ? v->s : pickle::kind_name(v->kind)) +
                       " and no checkpoint entry ('state_dict', 'model_state_dict', 'model', 'net', 'network') holds the weights (keys: " + keys + ")");
      }
    }
  }
  for (auto& [name, t] : out.tensors) {
    if (name.rfind("module.", 0) != 0) continue;
    name = name.substr(7);  // DataParallel
    out.provenance.stripped_prefix = "module.";
  }
  return out;
}

// A legacy file names each module class once as ('module', cls, source_file, source): the class itself.
Ref module_class(const Ref& pid) {
  if (!pid->is(K::Tuple) || pid->items.size() < 2 || !pid->items[0]->is(K::Str) || pid->items[0]->s != "module") return nullptr;
  return pid->items[1];
}

}  // namespace

TorchObject read_torch_zip(const std::vector<uint8_t>& bytes, const std::string& path) {
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
  TorchProvenance provenance;
  auto load = [&](const Ref& pid) -> Ref {
    StorageId id = parse_storage_id(pid, path);  // zip files name module classes directly, never by persistent id
    note_location(provenance, id.location);
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
  std::set<std::string> seen;
  TorchObject out = to_state_dict(pickle::unpickle(pkl, size, load, path + ": data.pkl", nullptr, &seen), path);
  // The byteorder record came with torch 2.1 (docs/source/notes/serialization.rst).
  note_globals(provenance, seen, zip.has(prefix + "byteorder") ? "torch 2.1 or later (zip format with a byteorder record)" : "torch 1.6 to 2.0 (zip format)", false);
  provenance.checkpoint_keys = std::move(out.provenance.checkpoint_keys);
  provenance.stripped_prefix = out.provenance.stripped_prefix;
  out.provenance = std::move(provenance);
  return out;
}

TorchObject read_torch_legacy(const std::vector<uint8_t>& bytes, const std::string& path) {
  size_t pos = 0;
  std::set<std::string> seen;
  auto next = [&](const pickle::PersistentLoad& load, const char* what) {
    size_t used = 0;
    Ref v = pickle::unpickle(bytes.data() + pos, bytes.size() - pos, load, path + " (" + what + ")", &used, &seen);
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
  uint64_t declared = 0;  // bytes of all storages: together they cannot exceed the file that holds them
  TorchProvenance provenance;
  auto load = [&](const Ref& pid) -> Ref {
    if (Ref cls = module_class(pid)) return cls;
    StorageId id = parse_storage_id(pid, path);
    note_location(provenance, id.location);
    auto it = roots.find(id.key);
    if (it == roots.end()) {
      // The data follows the pickle, so a storage can be no larger than the file: refuse before allocating.
      const uint64_t esize = c10::elementSize(id.dtype);
      if (static_cast<uint64_t>(id.numel) > bytes.size() / esize)
        fail(path, "storage " + id.key + " declares " + std::to_string(id.numel) + " elements, more than the file holds (corrupt?)");
      declared += static_cast<uint64_t>(id.numel) * esize;
      if (declared > bytes.size())
        fail(path, "truncated or corrupt: its storages declare more than the file's " + std::to_string(bytes.size()) + " bytes in total (at storage " + id.key + ")");
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
  TorchObject out = to_state_dict(root, path);
  note_globals(provenance, seen, "torch 0.4 or later (legacy format, the default before 1.6)", true);
  provenance.checkpoint_keys = std::move(out.provenance.checkpoint_keys);
  provenance.stripped_prefix = out.provenance.stripped_prefix;
  out.provenance = std::move(provenance);
  return out;
}

}  // namespace torchxfer
