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

Napi::Array string_array(Napi::Env env, const std::vector<std::string>& items) {
  auto arr = Napi::Array::New(env, items.size());
  for (uint32_t i = 0; i < items.size(); ++i) arr.Set(i, items[i]);
  return arr;
}

// Converts only: which groups exist is the core's rule (set_group_trainable checks), validated first in src/model.ts.
std::vector<int> get_groups(const Napi::Value& v, const std::string& name) {
  if (!v.IsArray()) throw_expected(v.Env(), "an array of layer groups", name, v);
  auto arr = v.As<Napi::Array>();
  std::vector<int> groups;
  for (uint32_t i = 0; i < arr.Length(); ++i) groups.push_back(static_cast<int>(get_int(arr.Get(i), name + "[" + std::to_string(i) + "]")));
  return groups;
}

// Synchronous calls run on the JS thread: they never wait for a step, evaluation or transfer that holds
// the model on the compute thread; they fail at once instead.
std::unique_lock<std::mutex> lock_or_busy(Napi::Env env, Classifier& model) {
  std::unique_lock<std::mutex> lock(model.mutex(), std::try_to_lock);
  if (!lock.owns_lock()) throw Napi::Error::New(env, "Model is busy: a step, evaluation or device transfer is running on it; await it first");
  return lock;
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
  guard(env, [&]() -> Napi::Value {
    model_ = Classifier::create(c);
    ReportMemory(env, model_->parameter_bytes());
    return env.Undefined();
  });
}

ModelWrap::~ModelWrap() { ReportMemory(nullptr, 0); }

// Tells V8 how much native memory this object keeps alive (weights on the CPU), so garbage collection
// weighs it; `bytes` 0 (disposed, collected) gives it all back.
void ModelWrap::ReportMemory(napi_env env, int64_t bytes) {
  if (env) env_ = env;
  if (env_ && bytes != external_bytes_) napi_adjust_external_memory(env_, bytes - external_bytes_, nullptr);
  external_bytes_ = bytes;
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
  auto lock = lock_or_busy(env, *model);
  return guard(env, [&]() -> Napi::Value {
    LoadReport r = model->load_state_dict(weights, strict);
    auto out = Napi::Object::New(env);
    out.Set("missing", string_array(env, r.missing));
    out.Set("unexpected", string_array(env, r.unexpected));
    out.Set("mismatched", string_array(env, r.mismatched));
    out.Set("replaced", string_array(env, r.replaced));
    out.Set("firstConvAdapted", r.first_conv_adapted);
    out.Set("backboneMissing", static_cast<double>(r.backbone_missing));
    out.Set("prefix", r.prefix);
    out.Set("headFound", r.head_found);
    auto shape = Napi::Array::New(env, r.head_shape.size());
    for (size_t i = 0; i < r.head_shape.size(); ++i) shape.Set(static_cast<uint32_t>(i), static_cast<double>(r.head_shape[i]));
    out.Set("headShape", shape);
    out.Set("headNote", r.head_note);
    out.Set("leftOut", string_array(env, r.left_out));
    out.Set("oldNames", r.old_names);
    return out;
  });
}

Napi::Value ModelWrap::StateDict(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto model = Get(env);
  auto lock = lock_or_busy(env, *model);
  return guard(env, [&]() -> Napi::Value {
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
  auto lock = lock_or_busy(env, *model);
  return guard(env, [&]() -> Napi::Value {
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
  auto lock = lock_or_busy(env, *model);
  return guard(env, [&]() -> Napi::Value {
    model->set_frozen_batchnorm(policy);
    return env.Undefined();
  });
}

Napi::Value ModelWrap::SetTraining(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto model = Get(env);
  bool on = get_bool(info[0], "training");
  auto lock = lock_or_busy(env, *model);
  return guard(env, [&]() -> Napi::Value {
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
  auto lock = lock_or_busy(env, *model);
  return guard(env, [&]() -> Napi::Value {
    model->reinit_moments(which, static_cast<uint64_t>(seed));
    return env.Undefined();
  });
}

// [{ index, prefixes, parameterNames, numParameters, numTrainable, trainable, batchNormTraining }] from the core's summaries.
Napi::Value ModelWrap::Groups(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto model = Get(env);
  auto lock = lock_or_busy(env, *model);
  return guard(env, [&]() -> Napi::Value {
    auto summaries = model->group_summaries();
    auto out = Napi::Array::New(env, summaries.size());
    for (uint32_t i = 0; i < summaries.size(); ++i) {
      const auto& g = summaries[i];
      auto o = Napi::Object::New(env);
      o.Set("index", g.index);
      o.Set("prefixes", string_array(env, g.prefixes));
      o.Set("parameterNames", string_array(env, g.parameter_names));
      o.Set("numParameters", static_cast<double>(g.num_parameters));
      o.Set("numTrainable", static_cast<double>(g.num_trainable));
      o.Set("trainable", g.trainable);
      o.Set("batchNormTraining", g.batchnorm_training);
      out.Set(i, o);
    }
    return out;
  });
}

Napi::Value ModelWrap::NumParameters(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto model = Get(env);
  auto lock = lock_or_busy(env, *model);
  return guard(env, [&]() -> Napi::Value { return Napi::Number::New(env, static_cast<double>(model->num_parameters())); });
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
  ReportMemory(info.Env(), 0);
  return info.Env().Undefined();
}

TORCHXFER_EXPORTS(Model) { exports.Set("Model", ModelWrap::Define(env)); }

}  // namespace torchxfer::napi
