// augmentBatch(images, shape, options, seed) -> Promise<Tensor>: the training augmentation alone,
// for tests, previews and benchmarks. Converts only: src/train/trainer.ts (augmentBatch, augmentDraws)
// validates every option; the core (check_augment, draw_augmentations) checks its invariants.
#include "../core/runtime.h"
#include "../core/train/augment.h"
#include "async.h"
#include "convert.h"
#include "errors.h"
#include "registry.h"
#include "tensor.h"
#include "train_options.h"

namespace torchxfer::napi {
namespace {

// augmentBatch(images, shape, options, seed) -> Promise<Tensor>; options.train (default true) and
// options.channels (default 3) besides the augmentation options.
Napi::Value AugmentBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object batch = Napi::Object::New(env);
  batch.Set("images", info[0]);
  batch.Set("shape", info[1]);
  torch::Tensor images = read_images(batch);
  Napi::Object o = info.Length() > 2 && !info[2].IsUndefined() ? get_object(info[2], "options") : Napi::Object::New(env);
  AugmentConfig a;
  read_augment(o, a);
  bool train = true;
  if (Napi::Value v = option_of(o, "train"); !v.IsUndefined()) train = get_bool(v, "train");
  if (Napi::Value v = option_of(o, "channels"); !v.IsUndefined()) a.channels = get_int(v, "channels");
  torch::Device device = torch::kCPU;
  if (Napi::Value v = option_of(o, "device"); !v.IsUndefined()) {
    std::string spec = get_string(v, "device");
    guard(env, [&]() -> Napi::Value { device = parse_device(spec); return env.Undefined(); });
  }
  uint64_t seed = info.Length() > 3 ? get_seed(info[3], "seed") : 0;
  // No range checks here: augment_batch runs the core's check_augment before it reads a pixel.
  return run_async<torch::Tensor>(
      env, [images, a, train, seed, device]() { return augment_batch(images.to(device), a, train, seed); },
      [](Napi::Env env, torch::Tensor& t) -> Napi::Value { return TensorWrap::Wrap(env, t); });
}

// augmentDraws(n, height, width, options, seed) -> {flip, angle, top, left}: the per-image draws
// augmentBatch makes for the same arguments, so tests can rebuild the augmentation independently.
Napi::Value DrawsExport(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t n = get_int(info[0], "n"), h = get_int(info[1], "height"), w = get_int(info[2], "width");
  Napi::Object o = info.Length() > 3 && !info[3].IsUndefined() ? get_object(info[3], "options") : Napi::Object::New(env);
  AugmentConfig a;
  read_augment(o, a);
  uint64_t seed = info.Length() > 4 ? get_seed(info[4], "seed") : 0;
  return guard(env, [&]() -> Napi::Value {
    AugmentDraws d = draw_augmentations(n, h, w, a, seed);
    Napi::Object out = Napi::Object::New(env);
    Napi::Array flip = Napi::Array::New(env), angle = Napi::Array::New(env), top = Napi::Array::New(env), left = Napi::Array::New(env);
    for (uint32_t i = 0; i < static_cast<uint32_t>(n); ++i) {
      flip.Set(i, static_cast<bool>(d.flip[i]));
      angle.Set(i, d.angle_deg[i]);
      top.Set(i, static_cast<double>(d.top[i]));
      left.Set(i, static_cast<double>(d.left[i]));
    }
    out.Set("flip", flip);
    out.Set("angle", angle);
    out.Set("top", top);
    out.Set("left", left);
    return out;
  });
}

}  // namespace

TORCHXFER_EXPORTS(Augment) {
  exports.Set("augmentBatch", Napi::Function::New(env, AugmentBatch, "augmentBatch"));
  exports.Set("augmentDraws", Napi::Function::New(env, DrawsExport, "augmentDraws"));
}

}  // namespace torchxfer::napi
