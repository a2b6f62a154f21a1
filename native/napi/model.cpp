#include "model.h"

#include <mutex>

#include "../core/runtime.h"
#include "async.h"
#include "convert.h"
#include "errors.h"
#include "registry.h"
#include "tensor.h"

namespace torchxfer::napi {
namespace {

bool has_prefix(const std::string& name, const std::string& prefix) {
  return name == prefix || (name.size() > prefix.size() && name.compare(0, prefix.size(), prefix) == 0 && name[prefix.size()] == '.');
}

bool in_group(Classifier& model, int group, const std::string& name) {
  for (const auto& prefix : model.group_prefixes(group))
    if (has_prefix(name, prefix)) return true;
  return false;
}

Napi::Array string_array(Napi::Env env, const std::vector<std::string>& items) {
  auto arr = Napi::Array::New(env, items.size());
  for (uint32_t i = 0; i < items.size(); ++i) arr.Set(i, items[i]);
  return arr;
}

std::vector<int> get_groups(const Napi::Value& v, const std::string& name) {
  if (!v.IsArray()) throw_expected(v.Env(), "an array of layer groups (0, 1, 2)", name, v);
  auto arr = v.As<Napi::Array>();
  std::vector<int> groups;
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    Napi::Value e = arr.Get(i);
    int64_t g = get_int(e, name + "[" + std::to_string(i) + "]");
    if (g < 0 || g >= Classifier::kNumGroups) throw_expected(v.Env(), "0, 1 or 2", name + "[" + std::to_string(i) + "]", e);
    groups.push_back(static_cast<int>(g));
  }
  return groups;
}

// Restores the train/eval mode on scope exit, even when forward throws.
struct EvalScope {
  Classifier& model;
  bool was_training;
  explicit EvalScope(Classifier& m) : model(m), was_training(m.module().is_training()) { model.set_training(false); }
  ~EvalScope() { model.set_training(was_training); }
};

}  // namespace

Napi::Function ModelWrap::Define(Napi::Env env) {
  Napi::Function cls = DefineClass(env, "Model", {
      InstanceMethod<&ModelWrap::LoadStateDict>("loadStateDict"),
      InstanceMethod<&ModelWrap::StateDict>("stateDict"),
      InstanceMethod<&ModelWrap::Predict>("predict"),
      InstanceMethod<&ModelWrap::Freeze>("freeze"),
      InstanceMethod<&ModelWrap::Unfreeze>("unfreeze"),
      InstanceMethod<&ModelWrap::SetFrozenBatchNorm>("setFrozenBatchNorm"),
      InstanceMethod<&ModelWrap::SetTraining>("setTraining"),
      InstanceMethod<&ModelWrap::To>("to"),
      InstanceMethod<&ModelWrap::ReinitMoments>("reinitMoments"),
      InstanceAccessor<&ModelWrap::Groups>("groups"),
      InstanceAccessor<&ModelWrap::NumParameters>("numParameters"),
      InstanceAccessor<&ModelWrap::Config>("config"),
      InstanceAccessor<&ModelWrap::Device>("device"),
      InstanceAccessor<&ModelWrap::Disposed>("disposed"),
      InstanceMethod<&ModelWrap::Dispose>("dispose"),
  });
  addon_data(env).constructors["Model"] = Napi::Persistent(cls);
  return cls;
}

std::shared_ptr<Classifier> ModelWrap::FromValue(const Napi::Value& v, const std::string& name) {
  Napi::Env env = v.Env();
  if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(constructor_of(env, "Model"))) throw_expected(env, "a Model", name, v);
  auto* self = Napi::ObjectWrap<ModelWrap>::Unwrap(v.As<Napi::Object>());
  if (!self->model_) throw Napi::Error::New(env, name + " has been disposed");
  return self->model_;
}

ModelWrap::ModelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModelWrap>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw_expected(env, "a config object", "config", info.Length() ? info[0] : env.Undefined());
  auto o = info[0].As<Napi::Object>();
  ClassifierConfig c;
  c.arch = get_string(o.Get("arch"), "arch");
  if (!o.Get("numClasses").IsUndefined()) c.num_classes = get_int(o.Get("numClasses"), "numClasses");
  if (!o.Get("inChannels").IsUndefined()) c.in_channels = get_int(o.Get("inChannels"), "inChannels");
  if (!o.Get("greyMode").IsUndefined()) c.grey_mode = get_string(o.Get("greyMode"), "greyMode");
  if (!o.Get("dropout").IsUndefined()) c.dropout = get_number(o.Get("dropout"), "dropout");
  guard(env, [&]() -> Napi::Value { model_ = Classifier::create(c); return env.Undefined(); });
}

std::shared_ptr<Classifier> ModelWrap::Get(Napi::Env env) const {
  if (!model_) throw Napi::Error::New(env, "Model has been disposed");
  return model_;
}

Napi::Value ModelWrap::LoadStateDict(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto model = Get(env);
  if (!info[0].IsObject() || info[0].IsArray()) throw_expected(env, "an object of named Tensors", "tensors", info[0]);
  auto obj = info[0].As<Napi::Object>();
  bool strict = true;
  if (info.Length() > 1 && !info[1].IsUndefined()) {
    if (!info[1].IsObject()) throw_expected(env, "an options object", "options", info[1]);
    auto s = info[1].As<Napi::Object>().Get("strict");
    if (!s.IsUndefined()) strict = get_bool(s, "strict");
  }
  torchxfer::StateDict weights;
  auto names = obj.GetPropertyNames();
  for (uint32_t i = 0; i < names.Length(); ++i) {
    std::string name = names.Get(i).ToString().Utf8Value();
    weights.emplace_back(name, TensorWrap::FromValue(obj.Get(name), "tensors['" + name + "']"));
  }
  return guard(env, [&]() -> Napi::Value {
    std::lock_guard<std::mutex> lock(model->mutex());
    LoadReport r = model->load_state_dict(weights, strict);
    auto out = Napi::Object::New(env);
    out.Set("missing", string_array(env, r.missing));
    out.Set("unexpected", string_array(env, r.unexpected));
    out.Set("mismatched", string_array(env, r.mismatched));
    out.Set("replaced", string_array(env, r.replaced));
    out.Set("firstConvAdapted", r.first_conv_adapted);
    return out;
  });
}

Napi::Value ModelWrap::StateDict(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto model = Get(env);
  return guard(env, [&]() -> Napi::Value {
    std::lock_guard<std::mutex> lock(model->mutex());
    auto out = Napi::Object::New(env);
    for (auto& [name, t] : model->state_dict()) out.Set(name, TensorWrap::Wrap(env, t.clone()));  // a snapshot, not a live view
    return out;
  });
}

Napi::Value ModelWrap::Predict(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto model = Get(env);
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw_expected(env, "a Float32Array", "data", info[0]);
  auto shape = get_shape(info[1], "shape");
  torch::Tensor x = tensor_from_typed_array(info[0], shape, "data");
  return run_async<torch::Tensor>(
      env,
      [model, x]() {
        std::lock_guard<std::mutex> lock(model->mutex());
        torch::NoGradGuard no_grad;
        EvalScope eval(*model);
        return model->forward(x).to(torch::kCPU).contiguous();
      },
      [](Napi::Env env, torch::Tensor& logits) { return typed_array_from_tensor(env, logits); });
}

Napi::Value ModelWrap::SetTrainable(const Napi::CallbackInfo& info, bool trainable) {
  Napi::Env env = info.Env();
  auto model = Get(env);
  auto groups = get_groups(info[0], "groups");
  return guard(env, [&]() -> Napi::Value {
    std::lock_guard<std::mutex> lock(model->mutex());
    for (int g : groups) model->set_group_trainable(g, trainable);
    return env.Undefined();
  });
}

Napi::Value ModelWrap::Freeze(const Napi::CallbackInfo& info) { return SetTrainable(info, false); }
Napi::Value ModelWrap::Unfreeze(const Napi::CallbackInfo& info) { return SetTrainable(info, true); }

Napi::Value ModelWrap::SetFrozenBatchNorm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto model = Get(env);
  std::string name = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  FrozenBatchNorm policy;
  if (name == "update-stats") policy = FrozenBatchNorm::UpdateStats;
  else if (name == "frozen") policy = FrozenBatchNorm::Frozen;
  else if (name == "trainable") policy = FrozenBatchNorm::Trainable;
  else throw_expected(env, "one of 'update-stats', 'frozen', 'trainable'", "frozenBatchNorm", info[0]);
  return guard(env, [&]() -> Napi::Value {
    std::lock_guard<std::mutex> lock(model->mutex());
    model->set_frozen_batchnorm(policy);
    return env.Undefined();
  });
}

Napi::Value ModelWrap::SetTraining(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto model = Get(env);
  bool on = get_bool(info[0], "training");
  return guard(env, [&]() -> Napi::Value {
    std::lock_guard<std::mutex> lock(model->mutex());
    model->set_training(on);
    return env.Undefined();
  });
}

Napi::Value ModelWrap::To(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto model = Get(env);
  std::string spec = get_string(info[0], "device");
  bool channels_last = info.Length() > 1 && !info[1].IsUndefined() ? get_bool(info[1], "channelsLast") : false;
  torch::Device device = torch::kCPU;
  guard(env, [&]() -> Napi::Value { device = parse_device(spec); return env.Undefined(); });
  return run_async<bool>(
      env,
      [model, device, channels_last]() {
        std::lock_guard<std::mutex> lock(model->mutex());
        model->to(device, channels_last);
        return true;
      },
      [](Napi::Env env, bool&) -> Napi::Value { return env.Undefined(); });
}

Napi::Value ModelWrap::ReinitMoments(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto model = Get(env);
  std::string which = get_string(info[0], "which");
  int64_t seed = get_int(info[1], "seed");
  if (seed < 0) throw_expected(env, "a non-negative integer", "seed", info[1]);
  return guard(env, [&]() -> Napi::Value {
    std::lock_guard<std::mutex> lock(model->mutex());
    model->reinit_moments(which, static_cast<uint64_t>(seed));
    return env.Undefined();
  });
}

// [{ index, prefixes, parameterNames, numParameters, numTrainable, trainable, batchNormTraining }]
Napi::Value ModelWrap::Groups(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto model = Get(env);
  return guard(env, [&]() -> Napi::Value {
    std::lock_guard<std::mutex> lock(model->mutex());
    auto out = Napi::Array::New(env, Classifier::kNumGroups);
    for (int g = 0; g < Classifier::kNumGroups; ++g) {
      std::vector<std::string> names;
      double count = 0, trainable = 0;
      for (const auto& p : model->module().named_parameters()) {
        if (!in_group(*model, g, p.key())) continue;
        names.push_back(p.key());
        count += static_cast<double>(p.value().numel());
        if (p.value().requires_grad()) trainable += static_cast<double>(p.value().numel());
      }
      int bn_training = 0;
      for (const auto& m : model->module().named_modules())
        if (in_group(*model, g, m.key()) && m.value()->as<torch::nn::BatchNorm2d>() && m.value()->is_training()) ++bn_training;
      auto o = Napi::Object::New(env);
      o.Set("index", g);
      o.Set("prefixes", string_array(env, model->group_prefixes(g)));
      o.Set("parameterNames", string_array(env, names));
      o.Set("numParameters", count);
      o.Set("numTrainable", trainable);
      o.Set("trainable", model->group_trainable(g));
      o.Set("batchNormTraining", bn_training);
      out.Set(static_cast<uint32_t>(g), o);
    }
    return out;
  });
}

Napi::Value ModelWrap::NumParameters(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto model = Get(env);
  std::lock_guard<std::mutex> lock(model->mutex());
  double n = 0;
  for (const auto& p : model->module().parameters()) n += static_cast<double>(p.numel());
  return Napi::Number::New(env, n);
}

Napi::Value ModelWrap::Config(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const auto& c = Get(env)->config();
  auto o = Napi::Object::New(env);
  o.Set("arch", c.arch);
  o.Set("numClasses", static_cast<double>(c.num_classes));
  o.Set("inChannels", static_cast<double>(c.in_channels));
  o.Set("greyMode", c.grey_mode);
  o.Set("dropout", c.dropout);
  return o;
}

Napi::Value ModelWrap::Device(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), Get(info.Env())->device().str()); }

Napi::Value ModelWrap::Disposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !model_); }

Napi::Value ModelWrap::Dispose(const Napi::CallbackInfo& info) {
  model_.reset();  // idempotent; in-flight work holds its own reference
  return info.Env().Undefined();
}

TORCHXFER_EXPORTS(Model) { exports.Set("Model", ModelWrap::Define(env)); }

}  // namespace torchxfer::napi
