// JS class `DistributedContext`: one process's membership of a data-parallel group (core/distributed.h).
#pragma once
#include <napi.h>

#include <memory>
#include <string>

#include "../core/distributed.h"

namespace torchxfer::napi {

class DistributedWrap : public Napi::ObjectWrap<DistributedWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  // The joined group behind a JS DistributedContext, or an Error naming `name`.
  static std::shared_ptr<DataParallel> FromValue(const Napi::Value& v, const std::string& name);

  explicit DistributedWrap(const Napi::CallbackInfo& info);

 private:
  // Set on the JS thread when join() resolves; reset by dispose().
  struct Slot {
    std::shared_ptr<DataParallel> group;
    bool joining = false;
  };
  std::shared_ptr<DataParallel> Get(Napi::Env env) const;

  Napi::Value Join(const Napi::CallbackInfo& info);
  Napi::Value Barrier(const Napi::CallbackInfo& info);
  Napi::Value AllreduceSum(const Napi::CallbackInfo& info);
  Napi::Value Broadcast(const Napi::CallbackInfo& info);
  Napi::Value Joined(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);

  DataParallelConfig config_;
  std::shared_ptr<Slot> slot_ = std::make_shared<Slot>();
};

}  // namespace torchxfer::napi
