// Module entry: runs every TORCHXFER_EXPORTS registration.
#include "errors.h"
#include "registry.h"

namespace torchxfer::napi {

std::vector<ExportRegistration>& export_registry() {
  static std::vector<ExportRegistration> registry;
  return registry;
}

AddonData& addon_data(Napi::Env env) {
  auto* data = env.GetInstanceData<AddonData>();
  if (!data) {
    data = new AddonData();
    env.SetInstanceData<AddonData>(data);  // deleted by node-addon-api when the environment ends
  }
  return *data;
}

Napi::Function constructor_of(Napi::Env env, const std::string& class_name) {
  auto& ctors = addon_data(env).constructors;
  auto it = ctors.find(class_name);
  if (it == ctors.end()) throw Napi::Error::New(env, "torchxfer: class " + class_name + " is not registered");
  return it->second.Value();
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  for (auto& reg : export_registry()) {
    try {
      reg.init(env, exports);
    } catch (const Napi::Error&) {
      throw;
    } catch (...) {
      throw Napi::Error::New(env, "torchxfer: initialising " + reg.name + " failed: " + describe_exception(std::current_exception()));
    }
  }
  return exports;
}

}  // namespace torchxfer::napi

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return torchxfer::napi::Init(env, exports); }

NODE_API_MODULE(torchxfer_addon, InitModule)
