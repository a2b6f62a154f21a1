// Promises for native work. Two lanes:
//  - run_async: LibTorch compute, queued on the one compute thread (native/core/executor.h) and
//    settled on the JS thread through a thread-safe function. Work never touches JS.
//  - run_async_on_pool: work that blocks on something other than compute (distributed rendezvous
//    and collectives waiting for peers, which may live in this same process), on libuv's pool.
// Both convert the result on the JS thread; C++ exceptions reject the Promise with their message.
#pragma once
#include <napi.h>

#include <functional>
#include <memory>
#include <string>

#include "../core/executor.h"
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

// Queues `work` on libuv's pool and returns its Promise. `convert` runs on the JS thread.
template <typename Result>
Napi::Promise run_async_on_pool(Napi::Env env, std::function<Result()> work, std::function<Napi::Value(Napi::Env, Result&)> convert) {
  auto* worker = new PromiseWorker<Result>(env, std::move(work), std::move(convert));  // owned by libuv, deleted after OnOK/OnError
  auto promise = worker->Promise();
  worker->Queue();
  return promise;
}

// One compute job: created on the JS thread, run on the compute thread, settled (and deleted) back
// on the JS thread. The thread-safe function keeps the event loop alive while the job is pending.
template <typename Result>
struct ComputeJob {
  static void Settle(Napi::Env env, Napi::Function, void*, ComputeJob* job) {
    std::unique_ptr<ComputeJob> owned(job);
    if (env == nullptr) return;  // the environment is shutting down: nothing left to settle
    try {
      if (!job->result) throw Napi::Error::New(env, job->error);
      job->deferred.Resolve(job->convert(env, *job->result));
    } catch (const Napi::Error& e) {
      job->deferred.Reject(e.Value());
    } catch (...) {
      job->deferred.Reject(Napi::Error::New(env, describe_exception(std::current_exception())).Value());
    }
  }
  using Tsfn = Napi::TypedThreadSafeFunction<void, ComputeJob, &ComputeJob::Settle>;

  ComputeJob(Napi::Env env, std::function<Result()> w, std::function<Napi::Value(Napi::Env, Result&)> c)
      : deferred(Napi::Promise::Deferred::New(env)), work(std::move(w)), convert(std::move(c)) {}

  Napi::Promise::Deferred deferred;
  std::function<Result()> work;
  std::function<Napi::Value(Napi::Env, Result&)> convert;
  std::unique_ptr<Result> result;  // set on success
  std::string error;               // set on failure
  Tsfn tsfn;
};

// Queues `work` on the compute thread and returns its Promise. `convert` runs on the JS thread.
template <typename Result>
Napi::Promise run_async(Napi::Env env, std::function<Result()> work, std::function<Napi::Value(Napi::Env, Result&)> convert) {
  using Job = ComputeJob<Result>;
  auto job = std::make_unique<Job>(env, std::move(work), std::move(convert));
  job->tsfn = Job::Tsfn::New(env, "torchxfer.compute", 0, 1);
  Napi::Promise promise = job->deferred.Promise();
  compute_executor().submit([job = job.release()]() {
    try {
      job->result = std::make_unique<Result>(job->work());
    } catch (...) {
      job->error = describe_exception(std::current_exception());
    }
    job->work = nullptr;  // drop captured tensors here, not on the JS thread
    typename Job::Tsfn tsfn = job->tsfn;  // the job may be deleted as soon as it is queued
    if (tsfn.NonBlockingCall(job) != napi_ok) delete job;  // environment gone: no one to settle
    tsfn.Release();
  });
  return promise;
}

}  // namespace torchxfer::napi
