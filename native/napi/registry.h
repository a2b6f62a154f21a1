// Each N-API file registers its exports with TORCHXFER_EXPORTS(Name) so that adding a class touches one file.
#pragma once
#include <napi.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace torchxfer::napi {

using ExportInit = std::function<void(Napi::Env, Napi::Object)>;

struct ExportRegistration {
  std::string name;
  ExportInit init;
};

std::vector<ExportRegistration>& export_registry();

// Per-environment state (each worker_thread has its own): class constructors by name.
// N-API offers one instance-data slot per addon, so every class shares this struct.
struct AddonData {
  std::map<std::string, Napi::FunctionReference> constructors;
};
AddonData& addon_data(Napi::Env env);
Napi::Function constructor_of(Napi::Env env, const std::string& class_name);

struct ExportRegistrar {
  ExportRegistrar(const char* name, ExportInit init) { export_registry().push_back({name, std::move(init)}); }
};

}  // namespace torchxfer::napi

#define TORCHXFER_EXPORTS(NAME) \
  static void NAME##_init(Napi::Env env, Napi::Object exports); \
  static ::torchxfer::napi::ExportRegistrar NAME##_registrar(#NAME, NAME##_init); \
  static void NAME##_init(Napi::Env env, Napi::Object exports)
