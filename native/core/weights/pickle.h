// A restricted unpickler: just enough of the pickle VM to read the object graph torch.save writes
// for a state_dict. It never imports or calls anything: the few globals it knows are interpreted
// here, every other global is refused with an error naming it.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

namespace torchxfer::pickle {

struct Value;
using Ref = std::shared_ptr<Value>;

struct Value {
  enum class Kind { None, Bool, Int, Float, Str, Bytes, Tuple, List, Dict, Global, Tensor };
  Kind kind = Kind::None;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;                           // Str, Bytes, Global ("module.name")
  std::vector<Ref> items;                  // Tuple, List
  std::vector<std::pair<Ref, Ref>> dict;   // Dict, in insertion order
  torch::Tensor tensor;                    // Tensor; also storages (1-D, contiguous)
  bool is_storage = false;
  int depth = 0;        // containers nested below this one (bounded: deep graphs recurse in destructors)
  bool nested = false;  // inside another container: then frozen, so `depth` stays true for its parents

  static Ref make(Kind k) { auto v = std::make_shared<Value>(); v->kind = k; return v; }
  bool is(Kind k) const { return kind == k; }
};

std::string kind_name(Value::Kind k);

// Maps a persistent id (e.g. ('storage', torch.FloatStorage, '0', 'cpu', 12)) to a storage Value.
using PersistentLoad = std::function<Ref(const Ref& pid)>;

// Runs the pickle in [data, data + size) and returns the object it STOPs with. `what` names the
// stream in errors ("model.pth: data.pkl"). *consumed (optional) receives the bytes read.
Ref unpickle(const uint8_t* data, size_t size, const PersistentLoad& persistent_load, const std::string& what,
             size_t* consumed = nullptr);

// The scalar type of a torch.<X>Storage global ("torch.FloatStorage" -> kFloat); throws if unknown.
torch::ScalarType storage_scalar_type(const std::string& global_name);

}  // namespace torchxfer::pickle
