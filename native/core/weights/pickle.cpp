#include "pickle.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <unordered_map>

namespace torchxfer::pickle {
namespace {

using K = Value::Kind;

// Approximate heap cost of what the machine keeps, for the memory budget (allocator overhead included).
constexpr uint64_t kValueCost = sizeof(Value) + 48;
constexpr uint64_t kSlotCost = sizeof(Ref);
constexpr uint64_t kMemoCost = 64;
constexpr size_t kMaxGlobalName = 512;  // "module.qualname"; real ones are under 100 bytes

struct Reader {
  const uint8_t* p;
  size_t n;
  size_t pos = 0;
  const std::string& what;

  [[noreturn]] void fail(const std::string& msg) const {
    throw std::runtime_error(what + ": " + msg + " (at byte " + std::to_string(pos) + ")");
  }
  const uint8_t* take(size_t k) {
    if (k > n - pos) fail("truncated pickle");
    const uint8_t* r = p + pos;
    pos += k;
    return r;
  }
  uint64_t le(size_t k) {
    const uint8_t* b = take(k);
    uint64_t v = 0;
    for (size_t j = 0; j < k; ++j) v |= static_cast<uint64_t>(b[j]) << (8 * j);
    return v;
  }
  std::string str(uint64_t k) {
    if (k > n - pos) fail("truncated pickle (a string of " + std::to_string(k) + " bytes)");
    const uint8_t* b = take(k);
    return std::string(reinterpret_cast<const char*>(b), k);
  }
  int64_t line_int() {  // PUT/GET's decimal memo key
    std::string s = line(24);
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0' || errno == ERANGE) fail("bad memo key '" + s.substr(0, 20) + "'");
    return v;
  }
  std::string line(size_t max) {
    size_t start = pos;
    while (pos < n && p[pos] != '\n' && pos - start <= max) ++pos;
    if (pos >= n) fail("truncated pickle (unterminated line)");
    if (p[pos] != '\n') fail("pickle text field longer than " + std::to_string(max) + " bytes");
    return std::string(reinterpret_cast<const char*>(p + start), pos++ - start);
  }
};

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// Classes recorded, never constructed: their instances become Object values holding their arguments and state.
bool is_inert_class(const std::string& name) {
  static const char* kExact[] = {
      "argparse.Namespace",  // training scripts save their command line in checkpoints
      "torch.device",        // DataParallel keeps one
      "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar", "numpy.dtype",  // metrics saved as numpy scalars
      "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct", "numpy.ndarray",
  };
  for (const char* e : kExact)
    if (name == e) return true;
  return is_module_class(name) || starts_with(name, "torch.nn.parallel.");
}

bool is_set_global(const std::string& n) {
  return n == "builtins.set" || n == "__builtin__.set" || n == "builtins.frozenset" || n == "__builtin__.frozenset";
}

bool is_storage_global(const std::string& name) {
  try {
    storage_scalar_type(name);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

bool known_global(const std::string& name) {
  static const char* kAllowed[] = {
      "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor",
      "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state", "torch.Size",
      "torch.nn.parameter.Parameter",  // torch 0.4 pickled parameters as Parameter(data, requires_grad)
      "_codecs.encode",                // protocol 2's bytes (numpy scalars in checkpoints): encode(text, 'latin1')
  };
  for (const char* a : kAllowed)
    if (name == a) return true;
  return is_set_global(name) || is_inert_class(name) || is_storage_global(name);
}

std::string refusal(const std::string& full) {
  bool model_class = starts_with(full, "torch.nn.") || full.find("models") != std::string::npos || full.find("model") != std::string::npos;
  return "refusing pickle global " + full +
         (model_class ? " (the file pickles a whole model object of a class outside the allow-list of torch.nn, torchvision.models and "
                        "torchxrayvision.models: save its state_dict() instead)"
                      : " (a weights file needs only dicts, tensors, storages and allow-listed module classes)");
}

// The VM: stack, marks, memo, and the rules that keep what it builds a finite tree within budget.
class Machine {
 public:
  Machine(const uint8_t* data, size_t size, const PersistentLoad& load, const std::string& what, std::set<std::string>* seen)
      : r_{data, size, 0, what}, load_(load), budget_(Budget::for_pickle(size)), seen_(seen) {}

  Ref run(size_t* consumed);

 private:
  Reader r_;
  const PersistentLoad& load_;
  Budget budget_;
  std::set<std::string>* seen_;
  uint64_t spent_ = 0;
  std::vector<Ref> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<int64_t, Ref> memo_;

  void charge(uint64_t bytes) {
    spent_ += bytes;
    if (spent_ > budget_.memory_bytes)
      r_.fail("pickle needs more than its memory budget of " + std::to_string(budget_.memory_bytes >> 20) + " MiB (for a pickle of " +
              std::to_string(r_.n) + " bytes; an opcode flood, not weights)");
  }
  Ref make(K k) { charge(kValueCost); return Value::make(k); }
  Ref make_str(K k, std::string s) { charge(kValueCost + s.size()); auto v = Value::make(k); v->s = std::move(s); return v; }
  Ref make_int(int64_t i) { auto v = make(K::Int); v->i = i; return v; }
  void push(Ref v) { charge(kSlotCost); stack_.push_back(std::move(v)); }

  Ref pop() {
    if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back())) r_.fail("pickle stack underflow");
    Ref v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  Ref& top() {
    if (stack_.empty()) r_.fail("pickle stack underflow");
    return stack_.back();
  }
  std::vector<Ref> pop_mark() {
    if (marks_.empty()) r_.fail("pickle MARK missing");
    size_t m = marks_.back();
    marks_.pop_back();
    std::vector<Ref> items(std::make_move_iterator(stack_.begin() + m), std::make_move_iterator(stack_.end()));
    stack_.resize(m);
    return items;
  }

  // Every container is filled through here. Depth is computed bottom-up, so a container may not change
  // once inside another (torch.save's pickles fill every container before nesting it): the graph stays a
  // tree of bounded depth without cycles, and a container can never hold itself.
  void contain(const Ref& container, const std::vector<Ref>& children) {
    if (container->nested) r_.fail("pickle modifies a " + kind_name(container->kind) + " after nesting it (not a state_dict)");
    int d = container->depth;
    for (auto& c : children) {
      if (c.get() == container.get()) r_.fail("pickle puts a " + kind_name(c->kind) + " inside itself (not a state_dict)");
      d = std::max(d, c->depth + 1);
    }
    if (d > budget_.max_depth) r_.fail("pickle nests deeper than " + std::to_string(budget_.max_depth) + " levels");
    charge(children.size() * kSlotCost);
    container->depth = d;
    for (auto& c : children) c->nested = true;
  }
  Ref make_tuple(std::vector<Ref> items) {
    auto t = make(K::Tuple);
    contain(t, items);
    t->items = std::move(items);
    return t;
  }
  void set_items(const Ref& d, std::vector<Ref>& kv) {
    if (!d->is(K::Dict)) r_.fail("SETITEM on a " + kind_name(d->kind));
    if (kv.size() % 2) r_.fail("SETITEMS with an odd number of items");
    contain(d, kv);
    for (size_t j = 0; j < kv.size(); j += 2) d->dict.emplace_back(kv[j], kv[j + 1]);
  }
  void append(const Ref& l, std::vector<Ref>& items) {
    if (!l->is(K::List)) r_.fail("APPEND on a " + kind_name(l->kind));
    contain(l, items);
    for (auto& it : items) l->items.push_back(it);
  }
  void memo_put(int64_t id) {
    charge(kMemoCost);
    memo_[id] = top();
  }

  Ref global(const std::string& module, const std::string& name);
  Ref reduce(const Ref& callable, const Ref& args);
  Ref new_object(const Ref& cls, const Ref& args);
  Ref rebuild_tensor(const std::vector<Ref>& args);
  Ref latin1_bytes(const std::vector<Ref>& args);
  std::vector<int64_t> int_tuple(const Ref& v, const char* field);
  Ref long_int(uint64_t k);
  void build();
};

std::vector<int64_t> Machine::int_tuple(const Ref& v, const char* field) {
  if (!v->is(K::Tuple) && !v->is(K::List)) r_.fail(std::string("tensor ") + field + " is of type " + kind_name(v->kind) + ", expected a tuple of ints");
  std::vector<int64_t> out;
  for (auto& e : v->items) {
    if (!e->is(K::Int)) r_.fail(std::string("tensor ") + field + " holds a " + kind_name(e->kind) + ", expected ints");
    out.push_back(e->i);
  }
  return out;
}

// torch._utils._rebuild_tensor(_v2)(storage, storage_offset, size, stride, ...): a strided view of the storage.
Ref Machine::rebuild_tensor(const std::vector<Ref>& args) {
  if (args.size() < 4) r_.fail("_rebuild_tensor needs 4 arguments, got " + std::to_string(args.size()));
  const Ref& storage = args[0];
  if (!storage->is(K::Tensor) || !storage->is_storage) r_.fail("_rebuild_tensor's first argument is not a storage");
  if (!args[1]->is(K::Int)) r_.fail("tensor storage offset is not an int");
  int64_t offset = args[1]->i;
  auto size = int_tuple(args[2], "size");
  auto stride = int_tuple(args[3], "stride");
  if (size.size() != stride.size()) r_.fail("tensor size and stride have different lengths");
  if (size.size() > 64) r_.fail("tensor of " + std::to_string(size.size()) + " dimensions (at most 64)");
  const torch::Tensor& st = storage->tensor;
  if (offset < 0) r_.fail("negative tensor storage offset");
  // Overflow-checked: a corrupt size or stride must not wrap around into a view that looks in bounds.
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  int64_t last = offset, numel = 1;
  bool zero = false;
  for (size_t d = 0; d < size.size(); ++d) {
    if (size[d] < 0 || stride[d] < 0) r_.fail("negative tensor size or stride");
    zero = zero || size[d] == 0;
    if (size[d] > 1 && stride[d] > 0 && size[d] - 1 > (kMax - last) / stride[d]) r_.fail("tensor size and stride overflow");
    if (size[d] > 0) last += (size[d] - 1) * stride[d];
    if (size[d] > 0 && numel > kMax / size[d]) r_.fail("tensor size overflows");
    numel = size[d] > 0 ? numel * size[d] : numel;
  }
  if (zero) numel = 0;
  // More elements than the storage only by overlapping strides (an expanded tensor), and then within
  // reason: users copy tensors, and a huge declared size must be refused before anything allocates it.
  if (numel > st.numel() && numel > (int64_t{1} << 26))
    r_.fail("tensor of " + std::to_string(numel) + " elements over a storage of " + std::to_string(st.numel()));
  if (numel > 0 && last >= st.numel())
    r_.fail("tensor view (offset " + std::to_string(offset) + ", last element " + std::to_string(last) + ") lies outside its storage of " +
            std::to_string(st.numel()) + " elements");
  auto v = make(K::Tensor);
  v->tensor = numel == 0 ? torch::empty(size, st.options()) : st.as_strided(size, stride, st.storage_offset() + offset);
  return v;
}

Ref Machine::global(const std::string& module, const std::string& name) {
  if (module.size() + name.size() > kMaxGlobalName) r_.fail("pickle global name longer than " + std::to_string(kMaxGlobalName) + " bytes");
  std::string full = module + "." + name;
  if (!known_global(full)) r_.fail(refusal(full));
  if (seen_ && (starts_with(full, "torch._utils.") || is_storage_global(full))) seen_->insert(full);  // a finite set
  return make_str(K::Global, full);
}

// An instance of an inert class: recorded with its arguments, never constructed.
Ref Machine::new_object(const Ref& cls, const Ref& args) {
  if (!cls->is(K::Global) || !is_inert_class(cls->s)) r_.fail("NEWOBJ on " + (cls->is(K::Global) ? cls->s : "a " + kind_name(cls->kind)) + ", not an allow-listed class");
  if (!args->is(K::Tuple)) r_.fail("NEWOBJ arguments are not a tuple");
  auto o = make(K::Object);
  o->s = cls->s;
  contain(o, args->items);
  o->items = args->items;
  return o;
}

Ref Machine::reduce(const Ref& callable, const Ref& args) {
  if (!callable->is(K::Global)) r_.fail("REDUCE on a " + kind_name(callable->kind) + ", not a global");
  if (!args->is(K::Tuple)) r_.fail("REDUCE arguments are not a tuple");
  const std::string& name = callable->s;
  const auto& a = args->items;
  if (name == "collections.OrderedDict" || is_set_global(name)) {
    // OrderedDict([(k, v), ...]) or set([x, ...]): filled through contain() like any other container.
    bool is_dict = name == "collections.OrderedDict";
    auto c = make(is_dict ? K::Dict : K::List);
    if (a.size() > 1) r_.fail(name + " with " + std::to_string(a.size()) + " arguments");
    if (a.empty()) return c;
    if (!a[0]->is(K::List) && !a[0]->is(K::Tuple)) r_.fail(name + " argument is not a list");
    std::vector<Ref> flat;
    for (auto& e : a[0]->items) {
      if (!is_dict) { flat.push_back(e); continue; }
      if ((!e->is(K::Tuple) && !e->is(K::List)) || e->items.size() != 2) r_.fail("OrderedDict argument is not a list of pairs");  // Python 2: [k, v]
      flat.push_back(e->items[0]);
      flat.push_back(e->items[1]);
    }
    if (is_dict) set_items(c, flat);
    else append(c, flat);
    return c;
  }
  if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") return rebuild_tensor(a);
  if (name == "torch.Size") {  // older files pickle sizes as torch.Size((2, 3)): the tuple itself
    if (a.size() != 1 || !a[0]->is(K::Tuple)) r_.fail("torch.Size without a tuple argument");
    return a[0];
  }
  if (name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state" || name == "torch.nn.parameter.Parameter") {
    if (a.empty() || !a[0]->is(K::Tensor)) r_.fail(name + " without a tensor argument");
    return a[0];  // a Parameter's data; requires_grad and hooks do not matter for weights
  }
  if (name == "_codecs.encode") return latin1_bytes(a);
  if (is_inert_class(name)) return new_object(callable, args);
  r_.fail("refusing to call pickle global " + name);
}

// _codecs.encode(text, 'latin1'): how protocol 2 pickles bytes; the text's code points are the bytes.
Ref Machine::latin1_bytes(const std::vector<Ref>& a) {
  if (a.size() != 2 || !a[0]->is(K::Str) || !a[1]->is(K::Str) || (a[1]->s != "latin1" && a[1]->s != "latin-1"))
    r_.fail("_codecs.encode other than encode(text, 'latin1')");
  const std::string& u = a[0]->s;  // UTF-8 of code points < 256
  std::string out;
  for (size_t j = 0; j < u.size(); ++j) {
    unsigned char c = static_cast<unsigned char>(u[j]);
    if (c < 0x80) { out += static_cast<char>(c); continue; }
    if ((c & 0xFE) != 0xC2 || j + 1 >= u.size()) r_.fail("_codecs.encode of text that is not latin-1");
    out += static_cast<char>(((c & 0x03) << 6) | (static_cast<unsigned char>(u[++j]) & 0x3F));
  }
  return make_str(K::Bytes, std::move(out));
}

// BUILD: an inert object's state is recorded; the attributes torch sets on an OrderedDict (_metadata) are ignored.
void Machine::build() {
  Ref state = pop();
  Ref& target = top();
  if (target->is(K::Dict)) return;
  if (!target->is(K::Object)) r_.fail("BUILD on a " + kind_name(target->kind) + " is not supported");
  if (target->state) r_.fail("BUILD twice on one " + target->s);
  contain(target, {state});
  target->state = state;
}

Ref Machine::long_int(uint64_t k) {
  std::string raw = r_.str(k);
  auto v = make(K::Int);
  if (k <= 8) {
    uint64_t u = 0;
    for (size_t j = 0; j < k; ++j) u |= static_cast<uint64_t>(static_cast<uint8_t>(raw[j])) << (8 * j);
    if (k > 0 && k < 8 && (static_cast<uint8_t>(raw[k - 1]) & 0x80)) u |= ~uint64_t{0} << (8 * k);  // sign-extend
    v->i = static_cast<int64_t>(u);
  } else {
    charge(raw.size());
    v->s = std::move(raw);  // too big for int64 (the legacy format's magic number): kept as raw little-endian bytes
  }
  return v;
}

Ref Machine::run(size_t* consumed) {
  while (true) {
    size_t op_pos = r_.pos;
    uint8_t op = *r_.take(1);
    switch (op) {
      case 0x80: r_.take(1); break;                 // PROTO
      case 0x95: r_.take(8); break;                 // FRAME (protocol 4): frames are just bytes here
      case '.': {                                   // STOP
        Ref result = pop();
        if (consumed) *consumed = r_.pos;
        return result;
      }
      case '(': charge(sizeof(size_t)); marks_.push_back(stack_.size()); break;  // MARK
      case 'N': push(make(K::None)); break;
      case 0x88: case 0x89: { auto v = make(K::Bool); v->b = op == 0x88; push(v); break; }
      case 'J': push(make_int(static_cast<int32_t>(r_.le(4)))); break;  // BININT
      case 'K': push(make_int(static_cast<int64_t>(r_.le(1)))); break;  // BININT1
      case 'M': push(make_int(static_cast<int64_t>(r_.le(2)))); break;  // BININT2
      case 0x8a: push(long_int(r_.le(1))); break;                       // LONG1
      case 0x8b: push(long_int(r_.le(4))); break;                       // LONG4
      case 'G': {  // BINFLOAT, big-endian
        const uint8_t* b = r_.take(8);
        uint64_t u = 0;
        for (int j = 0; j < 8; ++j) u = (u << 8) | b[j];
        auto v = make(K::Float);
        std::memcpy(&v->f, &u, 8);
        push(v);
        break;
      }
      case 'X': push(make_str(K::Str, r_.str(r_.le(4)))); break;     // BINUNICODE
      case 0x8c: push(make_str(K::Str, r_.str(r_.le(1)))); break;    // SHORT_BINUNICODE
      case 0x8d: push(make_str(K::Str, r_.str(r_.le(8)))); break;    // BINUNICODE8
      case 'T': push(make_str(K::Str, r_.str(r_.le(4)))); break;     // BINSTRING
      case 'U': push(make_str(K::Str, r_.str(r_.le(1)))); break;     // SHORT_BINSTRING
      case 'B': push(make_str(K::Bytes, r_.str(r_.le(4)))); break;   // BINBYTES
      case 'C': push(make_str(K::Bytes, r_.str(r_.le(1)))); break;   // SHORT_BINBYTES
      case 0x8e: push(make_str(K::Bytes, r_.str(r_.le(8)))); break;  // BINBYTES8
      case '}': push(make(K::Dict)); break;
      case ']': case 0x8f: push(make(K::List)); break;  // EMPTY_LIST, EMPTY_SET (a set is read as a list)
      case ')': push(make(K::Tuple)); break;
      case 't': push(make_tuple(pop_mark())); break;
      case 0x85: case 0x86: case 0x87: {  // TUPLE1..3
        size_t k = op - 0x84;
        if (stack_.size() < k || (!marks_.empty() && stack_.size() - k < marks_.back())) r_.fail("pickle stack underflow");
        std::vector<Ref> items(stack_.end() - k, stack_.end());
        stack_.resize(stack_.size() - k);
        push(make_tuple(std::move(items)));
        break;
      }
      case 'l': { auto l = make(K::List); auto items = pop_mark(); append(l, items); push(l); break; }
      case 'd': { auto d = make(K::Dict); auto kv = pop_mark(); set_items(d, kv); push(d); break; }
      case 0x91: { auto l = make(K::List); auto items = pop_mark(); append(l, items); push(l); break; }  // FROZENSET
      case 'a': { std::vector<Ref> items{pop()}; append(top(), items); break; }
      case 'e': case 0x90: { auto items = pop_mark(); append(top(), items); break; }  // APPENDS, ADDITEMS
      case 's': { Ref v = pop(); Ref k = pop(); std::vector<Ref> kv{k, v}; set_items(top(), kv); break; }
      case 'u': { auto kv = pop_mark(); set_items(top(), kv); break; }
      case 'q': memo_put(static_cast<int64_t>(r_.le(1))); break;  // BINPUT
      case 'r': memo_put(static_cast<int64_t>(r_.le(4))); break;  // LONG_BINPUT
      case 0x94: memo_put(static_cast<int64_t>(memo_.size())); break;  // MEMOIZE
      case 'p': memo_put(r_.line_int()); break;                   // PUT
      case 'h': case 'j': case 'g': {                             // BINGET, LONG_BINGET, GET
        int64_t id = op == 'h' ? static_cast<int64_t>(r_.le(1)) : op == 'j' ? static_cast<int64_t>(r_.le(4)) : r_.line_int();
        auto it = memo_.find(id);
        if (it == memo_.end()) r_.fail("pickle memo key " + std::to_string(id) + " is missing");
        push(it->second);
        break;
      }
      case '0': pop(); break;       // POP
      case '1': pop_mark(); break;  // POP_MARK
      case '2': push(top()); break;  // DUP
      case 'c': {                    // GLOBAL
        std::string module = r_.line(kMaxGlobalName);
        std::string name = r_.line(kMaxGlobalName);
        push(global(module, name));
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        Ref n = pop(), m = pop();
        if (!n->is(K::Str) || !m->is(K::Str)) r_.fail("STACK_GLOBAL without module and name strings");
        push(global(m->s, n->s));
        break;
      }
      case 'R': { Ref args = pop(); Ref fn = pop(); push(reduce(fn, args)); break; }
      case 0x81: { Ref args = pop(); Ref cls = pop(); push(new_object(cls, args)); break; }  // NEWOBJ
      case 'b': build(); break;
      case 'Q': {  // BINPERSID
        Ref pid = pop();
        if (!load_) r_.fail("persistent id outside a torch.save file");
        push(load_(pid));
        break;
      }
      default: {
        r_.pos = op_pos;
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", op);
        r_.fail(std::string("unsupported pickle opcode ") + hex);
      }
    }
  }
}

// Moves a value's children into `pending`, so that it dies without destroying them recursively.
void take_children(Value& v, std::vector<Ref>& pending) {
  for (auto& c : v.items) pending.push_back(std::move(c));
  v.items.clear();
  for (auto& [k, x] : v.dict) {
    pending.push_back(std::move(k));
    pending.push_back(std::move(x));
  }
  v.dict.clear();
  if (v.state) pending.push_back(std::move(v.state));
}

}  // namespace

Value::~Value() {
  if (items.empty() && dict.empty() && !state) return;
  std::vector<Ref> pending;
  take_children(*this, pending);
  while (!pending.empty()) {
    Ref v = std::move(pending.back());
    pending.pop_back();
    if (v && v.use_count() == 1) take_children(*v, pending);  // last owner: v now dies childless
  }
}

const Ref* Value::get(const std::string& key) const {
  if (kind != Kind::Dict) return nullptr;
  for (auto& [k, v] : dict)
    if (k->is(Kind::Str) && k->s == key) return &v;
  return nullptr;
}

Budget Budget::for_pickle(uint64_t pickle_bytes) {
  // 64 MiB covers any real state_dict or checkpoint pickle (DenseNet121's needs about 4 MiB), 32 bytes per
  // byte covers long ones, and the cap keeps the worst file well under the 1.5 GB the process may use.
  constexpr uint64_t kFloor = uint64_t{64} << 20, kCap = uint64_t{768} << 20;
  uint64_t per_byte = pickle_bytes > kCap / 32 ? kCap : pickle_bytes * 32;
  return Budget{std::min(kCap, kFloor + per_byte), 256};
}

std::string kind_name(Value::Kind k) {
  switch (k) {
    case K::None: return "None";
    case K::Bool: return "bool";
    case K::Int: return "int";
    case K::Float: return "float";
    case K::Str: return "str";
    case K::Bytes: return "bytes";
    case K::Tuple: return "tuple";
    case K::List: return "list";
    case K::Dict: return "dict";
    case K::Global: return "global";
    case K::Tensor: return "tensor";
    case K::Object: return "object";
  }
  return "?";
}

torch::ScalarType storage_scalar_type(const std::string& name) {
  static const std::pair<const char*, torch::ScalarType> kTypes[] = {
      {"torch.FloatStorage", torch::kFloat},   {"torch.HalfStorage", torch::kHalf}, {"torch.BFloat16Storage", torch::kBFloat16},
      {"torch.DoubleStorage", torch::kDouble}, {"torch.LongStorage", torch::kLong}, {"torch.IntStorage", torch::kInt},
      {"torch.ShortStorage", torch::kShort},   {"torch.CharStorage", torch::kChar}, {"torch.ByteStorage", torch::kByte},
      {"torch.BoolStorage", torch::kBool},
  };
  // A GPU checkpoint (torch <= 1.x on CUDA) names torch.cuda.<Type>Storage: the same bytes, placed on the CPU here.
  const std::string cpu_name = name.rfind("torch.cuda.", 0) == 0 ? "torch." + name.substr(11) : name;
  for (auto& [n, t] : kTypes)
    if (cpu_name == n) return t;
  throw std::runtime_error("unsupported storage type " + name);
}

bool is_module_class(const std::string& name) {
  return starts_with(name, "torch.nn.modules.") || starts_with(name, "torchvision.models.") || starts_with(name, "torchxrayvision.models.");
}

Ref unpickle(const uint8_t* data, size_t size, const PersistentLoad& persistent_load, const std::string& what, size_t* consumed,
             std::set<std::string>* globals_seen) {
  Machine m(data, size, persistent_load, what, globals_seen);
  return m.run(consumed);
}

}  // namespace torchxfer::pickle
