// holdModelLockForTests(model) -> { release(): void }: a helper thread takes the model's mutex, as a
// step on the compute thread does, and keeps it until release(). Tests of the "Model is busy" answer
// need the lock held for certain, which a just-started step cannot promise (it may not have begun yet).
// Holding a lock is all it can do; it is not part of the library's API (src/native.ts marks it so).
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <thread>

#include "model.h"
#include "registry.h"

namespace torchxfer::napi {
namespace {

class LockHolder {
 public:
  // Blocks only until the helper thread has tried the lock (it never waits for it).
  explicit LockHolder(std::shared_ptr<Classifier> model) : model_(std::move(model)) {
    std::promise<bool> held;
    std::future<bool> result = held.get_future();
    thread_ = std::thread([this, held = std::move(held)]() mutable {
      std::unique_lock<std::mutex> lock(model_->mutex(), std::try_to_lock);
      held.set_value(lock.owns_lock());
      if (!lock.owns_lock()) return;
      std::unique_lock<std::mutex> wait(m_);
      cv_.wait(wait, [this] { return released_; });
    });
    held_ = result.get();
  }
  ~LockHolder() { release(); }
  LockHolder(const LockHolder&) = delete;
  LockHolder& operator=(const LockHolder&) = delete;

  bool held() const { return held_; }
  void release() {
    {
      std::lock_guard<std::mutex> g(m_);
      released_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::shared_ptr<Classifier> model_;
  std::mutex m_;
  std::condition_variable cv_;
  bool released_ = false;
  bool held_ = false;
  std::thread thread_;
};

Napi::Value HoldModelLock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto holder = std::make_shared<LockHolder>(ModelWrap::FromValue(info[0], "model"));
  if (!holder->held()) throw Napi::Error::New(env, "Model is busy: the lock is already held");
  Napi::Object out = Napi::Object::New(env);
  // The function keeps the holder alive; a holder never released lets go when the function is collected.
  auto* kept = new std::shared_ptr<LockHolder>(holder);
  Napi::Function release = Napi::Function::New(
      env, [](const Napi::CallbackInfo& i) -> Napi::Value {
        (*static_cast<std::shared_ptr<LockHolder>*>(i.Data()))->release();
        return i.Env().Undefined();
      },
      "release", kept);
  release.AddFinalizer([](Napi::Env, std::shared_ptr<LockHolder>* p) { delete p; }, kept);
  out.Set("release", release);
  return out;
}

}  // namespace

TORCHXFER_EXPORTS(Testing) { exports.Set("holdModelLockForTests", Napi::Function::New(env, HoldModelLock, "holdModelLockForTests")); }

}  // namespace torchxfer::napi
