// JS class `Trainer`: training steps, evaluation with TTA, optimiser state.
// Work runs on the compute thread (async.h) holding the model's mutex. Options are validated in
// src/train/trainer.ts; this file converts them (naming each on a type mismatch), the core checks invariants.
#include "../core/train/trainer.h"

#include <atomic>
#include <cmath>
#include <memory>

#include "async.h"
#include "convert.h"
#include "distributed.h"
#include "errors.h"
#include "model.h"
#include "registry.h"
#include "train_options.h"
#include "tensor.h"

namespace torchxfer::napi {
namespace {

// Trainers held by JS objects (not disposed, not yet collected): liveTrainers(), for leak checks.
std::atomic<int64_t> g_live_trainers{0};

Napi::Object state_to_js(Napi::Env env, const StateDict& state) {
  Napi::Object out = Napi::Object::New(env);
  for (const auto& [name, tensor] : state) out.Set(name, TensorWrap::Wrap(env, tensor));
  return out;
}

class TrainerWrap : public Napi::ObjectWrap<TrainerWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    Napi::Function cls = DefineClass(env, "Trainer", {
        InstanceMethod<&TrainerWrap::Step>("step"),
        InstanceMethod<&TrainerWrap::Evaluate>("evaluate"),
        InstanceMethod<&TrainerWrap::OptimizerState>("optimizerState"),
        InstanceMethod<&TrainerWrap::LoadOptimizerState>("loadOptimizerState"),
        InstanceMethod<&TrainerWrap::AttachDistributed>("attachDistributed"),
        InstanceMethod<&TrainerWrap::Dispose>("dispose"),
        InstanceAccessor<&TrainerWrap::Disposed>("disposed"),
    });
    addon_data(env).constructors["Trainer"] = Napi::Persistent(cls);
    return cls;
  }

  explicit TrainerWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TrainerWrap>(info) {
    Napi::Env env = info.Env();
    std::shared_ptr<Classifier> model = ModelWrap::FromValue(info[0], "model");
    Napi::Object o = info.Length() > 1 && !info[1].IsUndefined() ? get_object(info[1], "options") : Napi::Object::New(env);
    // Converts only: src/train/trainer.ts validates every option first; the core checks its invariants.
    TrainerConfig c;
    if (Napi::Value v = option_of(o, "optimizer"); !v.IsUndefined())
      c.optimizer.kind = get_enum(v, "optimizer", kOptimizerKinds);
    if (Napi::Value v = option_of(o, "nesterov"); !v.IsUndefined()) c.optimizer.nesterov = get_bool(v, "nesterov");
    if (Napi::Value v = option_of(o, "weightDecay"); !v.IsUndefined()) c.optimizer.weight_decay = get_number(v, "weightDecay");
    if (Napi::Value v = option_of(o, "beta2"); !v.IsUndefined()) c.optimizer.beta2 = get_number(v, "beta2");
    if (Napi::Value v = option_of(o, "eps"); !v.IsUndefined()) c.optimizer.eps = get_number(v, "eps");
    read_augment(o, c.augment);
    if (Napi::Value v = option_of(o, "augment"); !v.IsUndefined()) c.train_augmentation = get_bool(v, "augment");
    if (Napi::Value v = option_of(o, "seed"); !v.IsUndefined()) c.seed = get_seed(v, "seed");
    if (Napi::Value v = option_of(o, "device"); !v.IsUndefined()) c.device = get_string(v, "device");
    if (Napi::Value v = option_of(o, "channelsLast"); !v.IsUndefined()) c.channels_last = get_bool(v, "channelsLast");
    if (Napi::Value v = option_of(o, "autocast"); !v.IsUndefined())
      c.autocast = get_enum(v, "autocast", kAutocastModes);
    if (Napi::Value v = option_of(o, "cudnnBenchmark"); !v.IsUndefined()) c.cudnn_benchmark = get_bool(v, "cudnnBenchmark");
    if (Napi::Value v = option_of(o, "batchSlices"); !v.IsUndefined()) c.batch_slices = get_int(v, "batchSlices");
    // The constructor may move the model to its device: quick, but it holds the model's mutex.
    guard(env, [&]() -> Napi::Value { trainer_ = std::make_shared<Trainer>(model, c); return env.Undefined(); });
    ++g_live_trainers;
  }

  ~TrainerWrap() override {
    if (trainer_) --g_live_trainers;
  }

 private:
  std::shared_ptr<Trainer> Get(Napi::Env env) const {
    if (!trainer_) throw Napi::Error::New(env, "Trainer has been disposed");
    return trainer_;
  }

  // step({images, shape, targets, lrs, momenta, step}) -> Promise<{loss, finite}>
  Napi::Value Step(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto trainer = Get(env);
    Napi::Object o = get_object(info[0], "batch");
    torch::Tensor images = read_images(o);
    const int64_t labels = trainer->model().config().num_classes;
    torch::Tensor targets = read_targets(o, images.size(0), labels);
    // Converts only (Trainer.step in src/train/trainer.ts validated the batch); the core checks the
    // group count, step >= 0 and that a slice lies within its batch.
    auto lrs = get_numbers(option_of(o, "lrs"), "lrs");
    auto momenta = get_numbers(option_of(o, "momenta"), "momenta");
    int64_t step = get_int(option_of(o, "step"), "step");
    BatchSlice slice;  // slice: {offset, total}: these images are rows offset.. of a global batch of total
    if (Napi::Value v = option_of(o, "slice"); !v.IsUndefined()) {
      Napi::Object so = get_object(v, "slice");
      slice.total = get_int(option_of(so, "total"), "slice.total");
      slice.offset = get_int(option_of(so, "offset"), "slice.offset");
    }
    return run_async<StepResult>(
        env,
        [trainer, images, targets, lrs, momenta, step, slice]() {
          std::lock_guard<std::mutex> lock(trainer->model().mutex());
          return trainer->step(images, targets, lrs, momenta, step, slice);
        },
        [](Napi::Env env, StepResult& r) -> Napi::Value {
          Napi::Object out = Napi::Object::New(env);
          out.Set("loss", r.loss);
          out.Set("finite", r.finite);
          return out;
        });
  }

  // evaluate({images, shape, targets?, tta?, seed?, copy?, output?}) -> Promise<{output: Float32Array, loss?}>
  Napi::Value Evaluate(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto trainer = Get(env);
    Napi::Object o = get_object(info[0], "batch");
    torch::Tensor images = read_images(o);
    const int64_t labels = trainer->model().config().num_classes;
    std::optional<torch::Tensor> targets;
    if (!option_of(o, "targets").IsUndefined()) targets = read_targets(o, images.size(0), labels);
    // Converts only (Trainer.evaluate in src/train/trainer.ts validated the batch); the core checks
    // tta >= 0 and that logits come from a single pass.
    EvalOptions e;
    if (Napi::Value v = option_of(o, "tta"); !v.IsUndefined()) e.tta = get_int(v, "tta");
    if (Napi::Value v = option_of(o, "seed"); !v.IsUndefined()) e.seed = get_seed(v, "seed");
    if (Napi::Value v = option_of(o, "copy"); !v.IsUndefined()) e.only_copy = get_int(v, "copy");
    if (Napi::Value v = option_of(o, "output"); !v.IsUndefined()) e.logits = get_string(v, "output") == "logits";
    if (Napi::Value v = option_of(o, "alsoPlain"); !v.IsUndefined()) e.with_plain = get_bool(v, "alsoPlain") && e.tta > 0 && e.only_copy < 0;
    return run_async<EvalResult>(
        env,
        [trainer, images, targets, e]() {
          std::lock_guard<std::mutex> lock(trainer->model().mutex());
          return trainer->evaluate(images, targets, e);
        },
        [](Napi::Env env, EvalResult& r) -> Napi::Value {
          Napi::Object out = Napi::Object::New(env);
          out.Set("output", typed_array_from_tensor(env, r.output));
          if (r.loss) out.Set("loss", *r.loss);
          if (r.plain.defined()) out.Set("plain", typed_array_from_tensor(env, r.plain));
          if (r.plain_loss) out.Set("plainLoss", *r.plain_loss);
          return out;
        });
  }

  // targets: Float32Array of n * labels (NaN = masked). The length check stays here: it guards the
  // copy into an [n, labels] tensor (memory), and names the shape the model needs.
  static torch::Tensor read_targets(const Napi::Object& o, int64_t n, int64_t labels) {
    Napi::Value v = option_of(o, "targets");
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array ||
        static_cast<int64_t>(v.As<Napi::TypedArray>().ElementLength()) != n * labels)
      throw_expected(o.Env(), "a Float32Array of " + std::to_string(n * labels) + " values (" + std::to_string(n) + " images x " + std::to_string(labels) + " labels)",
                     "targets", v);
    return tensor_from_typed_array(v, {n, labels}, "targets");
  }

  Napi::Value OptimizerState(const Napi::CallbackInfo& info) {
    auto trainer = Get(info.Env());
    return run_async<StateDict>(
        info.Env(),
        [trainer]() {
          std::lock_guard<std::mutex> lock(trainer->model().mutex());
          return trainer->optimizer_state();
        },
        [](Napi::Env env, StateDict& s) -> Napi::Value { return state_to_js(env, s); });
  }

  Napi::Value LoadOptimizerState(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto trainer = Get(env);
    Napi::Object o = get_object(info[0], "state");
    StateDict state;
    Napi::Array keys = o.GetPropertyNames();
    for (uint32_t i = 0; i < keys.Length(); ++i) {
      std::string key = keys.Get(i).As<Napi::String>().Utf8Value();
      state.emplace_back(key, TensorWrap::FromValue(o.Get(key), "state['" + key + "']"));
    }
    return run_async<bool>(
        env,
        [trainer, state]() {
          std::lock_guard<std::mutex> lock(trainer->model().mutex());
          trainer->load_optimizer_state(state);
          return true;
        },
        [](Napi::Env env, bool&) -> Napi::Value { return env.Undefined(); });
  }

  // attachDistributed(context) -> Promise: rank 0's weights are broadcast; later steps all-reduce.
  Napi::Value AttachDistributed(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto trainer = Get(env);
    std::shared_ptr<DataParallel> group = DistributedWrap::FromValue(info[0], "context");
    // On the pool: the broadcast waits for every rank, and ranks may share this process.
    return run_async_on_pool<bool>(
        env,
        [trainer, group]() {
          std::lock_guard<std::mutex> lock(trainer->model().mutex());
          trainer->attach_distributed(group);
          return true;
        },
        [](Napi::Env env, bool&) -> Napi::Value { return env.Undefined(); });
  }

  // Frees the optimiser state; in-flight work keeps its own reference until it finishes.
  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    if (trainer_) --g_live_trainers;
    trainer_.reset();
    return info.Env().Undefined();
  }

  Napi::Value Disposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !trainer_); }

  std::shared_ptr<Trainer> trainer_;
};

}  // namespace

TORCHXFER_EXPORTS(Trainer) {
  exports.Set("Trainer", TrainerWrap::Define(env));
  exports.Set("liveTrainers", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::Number::New(info.Env(), static_cast<double>(g_live_trainers.load()));
  }, "liveTrainers"));
}

}  // namespace torchxfer::napi
