// Runs work on a libuv worker thread and settles a Promise with its result.
// Execute() never touches JS; the result is converted on the JS thread in OnOK().
#pragma once
#include <napi.h>

#include <functional>
#include <memory>

#include "../core/runtime.h"
#include "errors.h"

namespace torchxfer::napi {

template <typename Result>
class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Work = std::function<Result()>;
  using Convert = std::function<Napi::Value(Napi::Env, Result&)>;

  PromiseWorker(Napi::Env env, Work work, Convert convert)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), work_(std::move(work)), convert_(std::move(convert)) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

  void Execute() override {
    try {
      prepare_worker_thread();
      result_ = std::make_unique<Result>(work_());
    } catch (...) {
      SetError(describe_exception(std::current_exception()));
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    try {
      deferred_.Resolve(convert_(env, *result_));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    } catch (...) {
      deferred_.Reject(Napi::Error::New(env, describe_exception(std::current_exception())).Value());
    }
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  Work work_;
  Convert convert_;
  std::unique_ptr<Result> result_;
};

// Queues `work` and returns its Promise. `convert` runs on the JS thread.
template <typename Result>
Napi::Promise run_async(Napi::Env env, std::function<Result()> work, std::function<Napi::Value(Napi::Env, Result&)> convert) {
  auto* worker = new PromiseWorker<Result>(env, std::move(work), std::move(convert));  // owned by libuv, deleted after OnOK/OnError
  auto promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace torchxfer::napi
