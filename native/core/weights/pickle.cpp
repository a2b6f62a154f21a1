#include "pickle.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <unordered_map>

namespace torchxfer::pickle {
namespace {

using K = Value::Kind;
constexpr int kMaxDepth = 256;  // deeper graphs are not state_dicts, and would recurse in destructors

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
  std::string str(size_t k) { const uint8_t* b = take(k); return std::string(reinterpret_cast<const char*>(b), k); }
  int64_t line_int() {  // PUT/GET's decimal memo key
    std::string s = line();
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0' || errno == ERANGE) fail("bad memo key '" + s.substr(0, 20) + "'");
    return v;
  }
  std::string line() {
    size_t start = pos;
    while (pos < n && p[pos] != '\n') ++pos;
    if (pos >= n) fail("truncated pickle (unterminated line)");
    return std::string(reinterpret_cast<const char*>(p + start), pos++ - start);
  }
};

Ref make_str(K k, std::string s) { auto v = Value::make(k); v->s = std::move(s); return v; }
Ref make_int(int64_t i) { auto v = Value::make(K::Int); v->i = i; return v; }

bool known_global(const std::string& name) {
  static const char* kAllowed[] = {
      "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor",
      "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state", "torch.Size",
  };
  for (const char* a : kAllowed)
    if (name == a) return true;
  try {
    storage_scalar_type(name);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

std::vector<int64_t> int_tuple(const Ref& v, const char* field, Reader& r) {
  if (!v->is(K::Tuple) && !v->is(K::List)) r.fail(std::string("tensor ") + field + " is of type " + kind_name(v->kind) + ", expected a tuple of ints");
  std::vector<int64_t> out;
  for (auto& e : v->items) {
    if (!e->is(K::Int)) r.fail(std::string("tensor ") + field + " holds a " + kind_name(e->kind) + ", expected ints");
    out.push_back(e->i);
  }
  return out;
}

// torch._utils._rebuild_tensor(_v2)(storage, storage_offset, size, stride, ...): a strided view of the storage.
Ref rebuild_tensor(const std::vector<Ref>& args, Reader& r) {
  if (args.size() < 4) r.fail("_rebuild_tensor needs 4 arguments, got " + std::to_string(args.size()));
  const Ref& storage = args[0];
  if (!storage->is(K::Tensor) || !storage->is_storage) r.fail("_rebuild_tensor's first argument is not a storage");
  if (!args[1]->is(K::Int)) r.fail("tensor storage offset is not an int");
  int64_t offset = args[1]->i;
  auto size = int_tuple(args[2], "size", r);
  auto stride = int_tuple(args[3], "stride", r);
  if (size.size() != stride.size()) r.fail("tensor size and stride have different lengths");
  const torch::Tensor& st = storage->tensor;
  if (offset < 0) r.fail("negative tensor storage offset");
  // Overflow-checked: a corrupt size or stride must not wrap around into a view that looks in bounds.
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  int64_t last = offset, numel = 1;
  bool zero = false;
  for (size_t d = 0; d < size.size(); ++d) {
    if (size[d] < 0 || stride[d] < 0) r.fail("negative tensor size or stride");
    zero = zero || size[d] == 0;
    if (size[d] > 1 && stride[d] > 0 && size[d] - 1 > (kMax - last) / stride[d]) r.fail("tensor size and stride overflow");
    if (size[d] > 0) last += (size[d] - 1) * stride[d];
    if (size[d] > 0 && numel > kMax / size[d]) r.fail("tensor size overflows");
    numel = size[d] > 0 ? numel * size[d] : numel;
  }
  if (zero) numel = 0;
  // More elements than the storage only by overlapping strides (an expanded tensor), and then within
  // reason: users copy tensors, and a huge declared size must be refused before anything allocates it.
  if (numel > st.numel() && numel > (int64_t{1} << 26))
    r.fail("tensor of " + std::to_string(numel) + " elements over a storage of " + std::to_string(st.numel()));
  if (numel > 0 && last >= st.numel())
    r.fail("tensor view (offset " + std::to_string(offset) + ", last element " + std::to_string(last) + ") lies outside its storage of " +
           std::to_string(st.numel()) + " elements");
  auto v = Value::make(K::Tensor);
  v->tensor = numel == 0 ? torch::empty(size, st.options()) : st.as_strided(size, stride, st.storage_offset() + offset);
  return v;
}

Ref reduce(const Ref& callable, const Ref& args, Reader& r) {
  if (!callable->is(K::Global)) r.fail("REDUCE on a " + kind_name(callable->kind) + ", not a global");
  if (!args->is(K::Tuple)) r.fail("REDUCE arguments are not a tuple");
  const std::string& name = callable->s;
  const auto& a = args->items;
  if (name == "collections.OrderedDict") {
    auto d = Value::make(K::Dict);
    if (!a.empty()) {
      if (!a[0]->is(K::List) && !a[0]->is(K::Tuple)) r.fail("OrderedDict argument is not a list of pairs");
      for (auto& pair : a[0]->items) {  // (k, v) tuples; Python 2 pickled [k, v] lists
        if ((!pair->is(K::Tuple) && !pair->is(K::List)) || pair->items.size() != 2) r.fail("OrderedDict argument is not a list of pairs");
        d->dict.emplace_back(pair->items[0], pair->items[1]);
      }
    }
    return d;
  }
  if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") return rebuild_tensor(a, r);
  if (name == "torch.Size") {  // older files pickle sizes as torch.Size((2, 3)): the tuple itself
    if (a.size() != 1 || !a[0]->is(K::Tuple)) r.fail("torch.Size without a tuple argument");
    return a[0];
  }
  if (name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state") {
    if (a.empty() || !a[0]->is(K::Tensor)) r.fail(name + " without a tensor argument");
    return a[0];  // a Parameter's data; requires_grad and hooks do not matter for weights
  }
  r.fail("refusing to call pickle global " + name);
}

}  // namespace

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
  for (auto& [n, t] : kTypes)
    if (name == n) return t;
  throw std::runtime_error("unsupported storage type " + name);
}

Ref unpickle(const uint8_t* data, size_t size, const PersistentLoad& persistent_load, const std::string& what, size_t* consumed) {
  Reader r{data, size, 0, what};
  std::vector<Ref> stack;
  std::vector<size_t> marks;
  std::unordered_map<int64_t, Ref> memo;

  auto pop = [&]() {
    if (stack.empty() || (!marks.empty() && stack.size() <= marks.back())) r.fail("pickle stack underflow");
    Ref v = std::move(stack.back());
    stack.pop_back();
    return v;
  };
  auto top = [&]() -> Ref& {
    if (stack.empty()) r.fail("pickle stack underflow");
    return stack.back();
  };
  auto pop_mark = [&]() {
    if (marks.empty()) r.fail("pickle MARK missing");
    size_t m = marks.back();
    marks.pop_back();
    std::vector<Ref> items(std::make_move_iterator(stack.begin() + m), std::make_move_iterator(stack.end()));
    stack.resize(m);
    return items;
  };
  // Depth is computed bottom-up, so a container may not change once inside another: filling a chain of
  // lists top-down would otherwise nest without bound (and overflow the stack when it is destroyed).
  // torch.save's pickles fill every container before nesting it.
  auto contain = [&](const Ref& container, const std::vector<Ref>& children) {
    if (container->nested) r.fail("pickle modifies a " + kind_name(container->kind) + " after nesting it (not a state_dict)");
    int d = container->depth;
    for (auto& c : children) d = std::max(d, c->depth + 1);
    if (d > kMaxDepth) r.fail("pickle nests deeper than " + std::to_string(kMaxDepth) + " levels");
    container->depth = d;
    for (auto& c : children) c->nested = true;
  };
  auto make_tuple = [&](std::vector<Ref> items) {
    auto t = Value::make(K::Tuple);
    contain(t, items);
    t->items = std::move(items);
    return t;
  };
  auto set_items = [&](const Ref& d, std::vector<Ref>& kv) {
    if (!d->is(K::Dict)) r.fail("SETITEM on a " + kind_name(d->kind));
    if (kv.size() % 2) r.fail("SETITEMS with an odd number of items");
    contain(d, kv);
    for (size_t j = 0; j < kv.size(); j += 2) d->dict.emplace_back(kv[j], kv[j + 1]);
  };
  auto append = [&](const Ref& l, std::vector<Ref>& items) {
    if (!l->is(K::List)) r.fail("APPEND on a " + kind_name(l->kind));
    contain(l, items);
    for (auto& it : items) l->items.push_back(it);
  };

  while (true) {
    size_t op_pos = r.pos;
    uint8_t op = *r.take(1);
    switch (op) {
      case 0x80: r.take(1); break;                 // PROTO
      case 0x95: r.take(8); break;                 // FRAME (protocol 4): frames are just bytes here
      case '.': {                                  // STOP
        Ref result = pop();
        if (consumed) *consumed = r.pos;
        return result;
      }
      case '(': marks.push_back(stack.size()); break;  // MARK
      case 'N': stack.push_back(Value::make(K::None)); break;
      case 0x88: case 0x89: { auto v = Value::make(K::Bool); v->b = op == 0x88; stack.push_back(v); break; }
      case 'J': stack.push_back(make_int(static_cast<int32_t>(r.le(4)))); break;  // BININT
      case 'K': stack.push_back(make_int(static_cast<int64_t>(r.le(1)))); break;  // BININT1
      case 'M': stack.push_back(make_int(static_cast<int64_t>(r.le(2)))); break;  // BININT2
      case 0x8a: case 0x8b: {                                                     // LONG1, LONG4
        uint64_t k = op == 0x8a ? r.le(1) : r.le(4);
        std::string raw = r.str(k);
        auto v = Value::make(K::Int);
        if (k <= 8) {
          uint64_t u = 0;
          for (size_t j = 0; j < k; ++j) u |= static_cast<uint64_t>(static_cast<uint8_t>(raw[j])) << (8 * j);
          if (k > 0 && k < 8 && (static_cast<uint8_t>(raw[k - 1]) & 0x80)) u |= ~uint64_t{0} << (8 * k);  // sign-extend
          v->i = static_cast<int64_t>(u);
        } else {
          v->s = raw;  // too big for int64 (the legacy format's magic number): kept as raw little-endian bytes
        }
        stack.push_back(v);
        break;
      }
      case 'G': {  // BINFLOAT, big-endian
        const uint8_t* b = r.take(8);
        uint64_t u = 0;
        for (int j = 0; j < 8; ++j) u = (u << 8) | b[j];
        auto v = Value::make(K::Float);
        std::memcpy(&v->f, &u, 8);
        stack.push_back(v);
        break;
      }
      case 'X': stack.push_back(make_str(K::Str, r.str(r.le(4)))); break;     // BINUNICODE
      case 0x8c: stack.push_back(make_str(K::Str, r.str(r.le(1)))); break;    // SHORT_BINUNICODE
      case 0x8d: stack.push_back(make_str(K::Str, r.str(r.le(8)))); break;    // BINUNICODE8
      case 'T': stack.push_back(make_str(K::Str, r.str(r.le(4)))); break;     // BINSTRING
      case 'U': stack.push_back(make_str(K::Str, r.str(r.le(1)))); break;     // SHORT_BINSTRING
      case 'B': stack.push_back(make_str(K::Bytes, r.str(r.le(4)))); break;   // BINBYTES
      case 'C': stack.push_back(make_str(K::Bytes, r.str(r.le(1)))); break;   // SHORT_BINBYTES
      case 0x8e: stack.push_back(make_str(K::Bytes, r.str(r.le(8)))); break;  // BINBYTES8
      case '}': stack.push_back(Value::make(K::Dict)); break;
      case ']': stack.push_back(Value::make(K::List)); break;
      case ')': stack.push_back(Value::make(K::Tuple)); break;
      case 't': stack.push_back(make_tuple(pop_mark())); break;
      case 0x85: case 0x86: case 0x87: {  // TUPLE1..3
        size_t k = op - 0x84;
        if (stack.size() < k || (!marks.empty() && stack.size() - k < marks.back())) r.fail("pickle stack underflow");
        std::vector<Ref> items(stack.end() - k, stack.end());
        stack.resize(stack.size() - k);
        stack.push_back(make_tuple(std::move(items)));
        break;
      }
      case 'l': { auto l = Value::make(K::List); auto items = pop_mark(); append(l, items); stack.push_back(l); break; }
      case 'd': { auto d = Value::make(K::Dict); auto kv = pop_mark(); set_items(d, kv); stack.push_back(d); break; }
      case 'a': { std::vector<Ref> items{pop()}; append(top(), items); break; }
      case 'e': { auto items = pop_mark(); append(top(), items); break; }
      case 's': { Ref v = pop(); Ref k = pop(); std::vector<Ref> kv{k, v}; set_items(top(), kv); break; }
      case 'u': { auto kv = pop_mark(); set_items(top(), kv); break; }
      case 'q': memo[static_cast<int64_t>(r.le(1))] = top(); break;  // BINPUT
      case 'r': memo[static_cast<int64_t>(r.le(4))] = top(); break;  // LONG_BINPUT
      case 0x94: { int64_t id = static_cast<int64_t>(memo.size()); memo[id] = top(); break; }  // MEMOIZE
      case 'p': memo[r.line_int()] = top(); break;           // PUT
      case 'h': case 'j': case 'g': {                                // BINGET, LONG_BINGET, GET
        int64_t id = op == 'h' ? static_cast<int64_t>(r.le(1)) : op == 'j' ? static_cast<int64_t>(r.le(4)) : r.line_int();
        auto it = memo.find(id);
        if (it == memo.end()) r.fail("pickle memo key " + std::to_string(id) + " is missing");
        stack.push_back(it->second);
        break;
      }
      case '0': pop(); break;       // POP
      case '1': pop_mark(); break;  // POP_MARK
      case '2': stack.push_back(top()); break;
      case 'c': case 0x93: {        // GLOBAL, STACK_GLOBAL
        std::string module, name;
        if (op == 'c') {
          module = r.line();
          name = r.line();
        } else {
          Ref n = pop(), m = pop();
          if (!n->is(K::Str) || !m->is(K::Str)) r.fail("STACK_GLOBAL without module and name strings");
          module = m->s;
          name = n->s;
        }
        std::string full = module + "." + name;
        if (!known_global(full)) {
          bool model_class = full.rfind("torch.nn.", 0) == 0 || full.find("models") != std::string::npos;
          r.fail("refusing pickle global " + full + (model_class ? " (the file pickles a whole model object: save its state_dict() instead)"
                                                                 : " (a weights file needs only OrderedDict, tensors and storages)"));
        }
        stack.push_back(make_str(K::Global, full));
        break;
      }
      case 'R': { Ref args = pop(); Ref fn = pop(); stack.push_back(reduce(fn, args, r)); break; }
      case 'b': {  // BUILD: only the attributes torch sets on an OrderedDict (_metadata), ignored
        Ref state = pop();
        if (!top()->is(K::Dict)) r.fail("BUILD on a " + kind_name(top()->kind) + " is not supported");
        break;
      }
      case 'Q': {  // BINPERSID
        Ref pid = pop();
        if (!persistent_load) r.fail("persistent id outside a torch.save file");
        stack.push_back(persistent_load(pid));
        break;
      }
      default: {
        r.pos = op_pos;
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", op);
        r.fail(std::string("unsupported pickle opcode ") + hex);
      }
    }
  }
}

}  // namespace torchxfer::pickle
