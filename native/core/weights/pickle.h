// A restricted unpickler: just enough of the pickle VM to read the object graphs torch.save writes
// (state_dicts, training checkpoints, whole pickled modules) as data. It never imports or calls
// anything: the globals it knows are interpreted here or recorded as inert class names, every other
// global is refused with an error naming it. Every resource it uses is bounded by the pickle's size
// (see Budget) and value trees are freed without recursion.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

namespace torchxfer::pickle {

struct Value;
using Ref = std::shared_ptr<Value>;

struct Value {
  // Object: an instance of an allow-listed class, never constructed: `s` is the class name, `items`
  // its constructor arguments (a tuple, or empty) and `state` what BUILD gave it (usually a dict).
  enum class Kind { None, Bool, Int, Float, Str, Bytes, Tuple, List, Dict, Global, Tensor, Object };
  Kind kind = Kind::None;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;                           // Str, Bytes, Global ("module.name"), Object (its class)
  std::vector<Ref> items;                  // Tuple, List (also sets), Object (constructor arguments)
  std::vector<std::pair<Ref, Ref>> dict;   // Dict, in insertion order
  Ref state;                               // Object: BUILD's argument
  torch::Tensor tensor;                    // Tensor; also storages (1-D, contiguous)
  bool is_storage = false;
  int depth = 0;        // containers nested below this one (bounded: see kMaxDepth)
  bool nested = false;  // inside another container: then frozen, so `depth` stays true for its parents

  Value() = default;
  Value(const Value&) = delete;
  Value& operator=(const Value&) = delete;
  ~Value();  // iterative: a deep tree must not recurse once per level

  static Ref make(Kind k) { auto v = std::make_shared<Value>(); v->kind = k; return v; }
  bool is(Kind k) const { return kind == k; }
  // The value of a string key in a Dict (nullptr when absent or not a Dict).
  const Ref* get(const std::string& key) const;
};

std::string kind_name(Value::Kind k);

// Limits of one unpickling, derived from the pickle's size. A real state_dict pickle spends a few
// hundred bytes of memory per tensor; an opcode flood spends ~150 bytes per byte of file.
struct Budget {
  uint64_t memory_bytes;  // values, container slots, memo entries, stack and marks, as accounted
  int max_depth;          // containers inside containers
  static Budget for_pickle(uint64_t pickle_bytes);
};

// Maps a persistent id (e.g. ('storage', torch.FloatStorage, '0', 'cpu', 12)) to a storage Value.
using PersistentLoad = std::function<Ref(const Ref& pid)>;

// Runs the pickle in [data, data + size) and returns the object it STOPs with. `what` names the
// stream in errors ("model.pth: data.pkl"). *consumed (optional) receives the bytes read.
// *globals_seen (optional) receives the torch._utils rebuild functions and storage types the pickle names
// (a finite set: they tell the torch era and whether the storages were CUDA ones).
Ref unpickle(const uint8_t* data, size_t size, const PersistentLoad& persistent_load, const std::string& what,
             size_t* consumed = nullptr, std::set<std::string>* globals_seen = nullptr);

// The scalar type of a torch.<X>Storage or torch.cuda.<X>Storage global ("torch.FloatStorage" -> kFloat);
// throws if unknown. CUDA storages are data like any other: their bytes are read onto the CPU.
torch::ScalarType storage_scalar_type(const std::string& global_name);

// An allow-listed module class (torch.nn, torchvision.models, torchxrayvision.models): its instances'
// state holds _parameters, _buffers and _modules.
bool is_module_class(const std::string& class_name);

}  // namespace torchxfer::pickle
