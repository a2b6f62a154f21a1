// Exports: readStateDict(path), readWeights(path), readSafetensors(path), writeSafetensors(path, tensors, metadata),
// inspectWeights(path) (all async), tensorBytes(tensor) (raw bytes of any dtype, for checksums).
#include <cstring>

#include "../core/models/classifier.h"
#include "../core/tensor_io.h"
#include "../core/weights/weights_file.h"
#include "async.h"
#include "convert.h"
#include "errors.h"
#include "registry.h"
#include "tensor.h"

namespace torchxfer::napi {
namespace {

// Keys come from the file: an object without a prototype keeps '__proto__' (or 'constructor') an own
// entry like any other name, instead of replacing or shadowing the object's prototype.
Napi::Object dictionary_object(Napi::Env env) {
  Napi::Function create = env.Global().Get("Object").As<Napi::Object>().Get("create").As<Napi::Function>();
  return create.Call({env.Null()}).As<Napi::Object>();
}

Napi::Object tensors_object(Napi::Env env, const StateDict& tensors) {
  Napi::Object o = dictionary_object(env);
  for (auto& [name, t] : tensors) o.Set(name, TensorWrap::Wrap(env, t));
  return o;
}

Napi::Object metadata_object(Napi::Env env, const std::map<std::string, std::string>& metadata) {
  Napi::Object o = dictionary_object(env);
  for (auto& [k, v] : metadata) o.Set(k, v);
  return o;
}

Napi::Array strings(Napi::Env env, const std::vector<std::string>& items) {
  Napi::Array a = Napi::Array::New(env, items.size());
  for (size_t i = 0; i < items.size(); ++i) a.Set(static_cast<uint32_t>(i), items[i]);
  return a;
}

Napi::Object provenance_object(Napi::Env env, const TorchProvenance& p) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("era", p.era);
  o.Set("storageTypes", strings(env, p.storage_types));
  o.Set("locations", strings(env, p.locations));
  o.Set("checkpointKeys", strings(env, p.checkpoint_keys));
  o.Set("strippedPrefix", p.stripped_prefix);
  return o;
}

Napi::Value ReadStateDict(const Napi::CallbackInfo& info) {
  std::string path = get_string(info[0], "path");
  return run_async<StateDict>(info.Env(), [path]() { return read_state_dict(path); },
                              [](Napi::Env env, StateDict& sd) -> Napi::Value { return tensors_object(env, sd); });
}

// readWeights(path): { format, container, tensors }: readStateDict plus what held the tensors.
Napi::Value ReadWeights(const Napi::CallbackInfo& info) {
  std::string path = get_string(info[0], "path");
  return run_async<WeightsFile>(info.Env(), [path]() { return read_weights_file(path); }, [](Napi::Env env, WeightsFile& f) -> Napi::Value {
    Napi::Object o = Napi::Object::New(env);
    o.Set("format", f.format);
    o.Set("container", f.container);
    o.Set("tensors", tensors_object(env, f.tensors));
    o.Set("provenance", provenance_object(env, f.provenance));
    return o;
  });
}

Napi::Value ReadSafetensors(const Napi::CallbackInfo& info) {
  std::string path = get_string(info[0], "path");
  return run_async<SafetensorsFile>(info.Env(), [path]() { return read_safetensors(path); }, [](Napi::Env env, SafetensorsFile& f) -> Napi::Value {
    Napi::Object o = Napi::Object::New(env);
    o.Set("tensors", tensors_object(env, f.tensors));
    o.Set("metadata", metadata_object(env, f.metadata));
    return o;
  });
}

Napi::Value WriteSafetensors(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = get_string(info[0], "path");
  if (!info[1].IsObject() || info[1].IsArray()) throw_expected(env, "an object of tensors", "tensors", info[1]);
  StateDict tensors;
  Napi::Object obj = info[1].As<Napi::Object>();
  Napi::Array keys = obj.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    std::string name = keys.Get(i).ToString().Utf8Value();
    tensors.emplace_back(name, TensorWrap::FromValue(obj.Get(name), "tensors['" + name + "']"));
  }
  std::map<std::string, std::string> metadata;
  if (!info[2].IsUndefined()) {
    if (!info[2].IsObject() || info[2].IsArray()) throw_expected(env, "an object of strings", "metadata", info[2]);
    Napi::Object m = info[2].As<Napi::Object>();
    Napi::Array mk = m.GetPropertyNames();
    for (uint32_t i = 0; i < mk.Length(); ++i) {
      std::string k = mk.Get(i).ToString().Utf8Value();
      metadata[k] = get_string(m.Get(k), "metadata['" + k + "']");
    }
  }
  return run_async<bool>(env, [path, tensors, metadata]() { write_safetensors(path, tensors, metadata); return true; },
                         [](Napi::Env env, bool&) -> Napi::Value { return env.Undefined(); });
}

// A file inspected: what it holds, and where each architecture's backbone is in it (weights/backbone.h).
struct Inspection {
  WeightsFile file;
  std::vector<std::pair<std::string, BackboneMatch>> matches;
};

Napi::Object match_object(Napi::Env env, const std::string& arch, const BackboneMatch& m, const std::string& stripped) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("arch", arch);
  o.Set("complete", m.complete);
  o.Set("prefix", stripped + m.prefix);  // in the file's names, before DataParallel's "module." was stripped
  o.Set("found", static_cast<double>(m.found));
  o.Set("expected", static_cast<double>(m.expected));
  o.Set("mismatched", strings(env, m.mismatched));
  o.Set("oldNames", m.old_names);
  o.Set("head", m.head);
  Napi::Array shape = Napi::Array::New(env, m.head_shape.size());
  for (size_t i = 0; i < m.head_shape.size(); ++i) shape.Set(static_cast<uint32_t>(i), static_cast<double>(m.head_shape[i]));
  o.Set("headShape", shape);
  o.Set("headNote", m.head_note);
  o.Set("leftOut", strings(env, m.left_out));
  std::vector<std::string> prefixes;
  for (auto& p : m.complete_prefixes) prefixes.push_back(stripped + p);
  o.Set("completePrefixes", strings(env, prefixes));
  return o;
}

Napi::Value InspectWeights(const Napi::CallbackInfo& info) {
  std::string path = get_string(info[0], "path");
  auto work = [path]() {
    Inspection r{read_weights_file(path), {}};
    ShapeList shapes;
    for (auto& [name, t] : r.file.tensors) shapes.emplace_back(name, t.sizes().vec());
    for (const char* arch : {"densenet121", "resnet50"}) r.matches.emplace_back(arch, find_backbone(shapes, Classifier::reference_keys(arch)));
    for (auto& [name, t] : r.file.tensors) t = torch::empty(t.sizes(), t.options().device(torch::kMeta));  // free the data here
    return r;
  };
  return run_async<Inspection>(info.Env(), work, [](Napi::Env env, Inspection& r) -> Napi::Value {
    WeightsFile& f = r.file;
    Napi::Object o = Napi::Object::New(env);
    o.Set("format", f.format);
    o.Set("container", f.container);
    Napi::Array entries = Napi::Array::New(env, f.tensors.size());
    for (size_t i = 0; i < f.tensors.size(); ++i) {
      Napi::Object e = Napi::Object::New(env);
      e.Set("name", f.tensors[i].first);
      e.Set("dtype", weights_dtype_name(f.tensors[i].second.scalar_type()));
      e.Set("shape", shape_to_array(env, f.tensors[i].second.sizes()));
      entries.Set(static_cast<uint32_t>(i), e);
    }
    o.Set("tensors", entries);
    o.Set("metadata", metadata_object(env, f.metadata));
    o.Set("provenance", provenance_object(env, f.provenance));
    Napi::Array matches = Napi::Array::New(env, r.matches.size());
    for (size_t i = 0; i < r.matches.size(); ++i)
      matches.Set(static_cast<uint32_t>(i), match_object(env, r.matches[i].first, r.matches[i].second, f.provenance.stripped_prefix));
    o.Set("architectures", matches);
    return o;
  });
}

Napi::Value TensorBytes(const Napi::CallbackInfo& info) {
  torch::Tensor t = TensorWrap::FromValue(info[0], "tensor");
  return guard(info.Env(), [&]() -> Napi::Value {
    torch::Tensor host = to_host_contiguous(t);
    auto buffer = Napi::Buffer<uint8_t>::New(info.Env(), host.nbytes());
    if (host.nbytes()) std::memcpy(buffer.Data(), host.data_ptr(), host.nbytes());
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("dtype", weights_dtype_name(host.scalar_type()));
    o.Set("shape", shape_to_array(info.Env(), host.sizes()));
    o.Set("bytes", buffer);
    return o;
  });
}

}  // namespace

TORCHXFER_EXPORTS(Weights) {
  exports.Set("readStateDict", Napi::Function::New(env, ReadStateDict, "readStateDict"));
  exports.Set("readWeights", Napi::Function::New(env, ReadWeights, "readWeights"));
  exports.Set("readSafetensors", Napi::Function::New(env, ReadSafetensors, "readSafetensors"));
  exports.Set("writeSafetensors", Napi::Function::New(env, WriteSafetensors, "writeSafetensors"));
  exports.Set("inspectWeights", Napi::Function::New(env, InspectWeights, "inspectWeights"));
  exports.Set("tensorBytes", Napi::Function::New(env, TensorBytes, "tensorBytes"));
}

}  // namespace torchxfer::napi
