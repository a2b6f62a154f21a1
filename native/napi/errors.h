// Turning C++/LibTorch exceptions into clean JS error messages.
#pragma once
#include <napi.h>

#include <exception>
#include <string>

namespace torchxfer::napi {

// The message of the current exception, without LibTorch's C++ backtrace.
std::string describe_exception(const std::exception_ptr& error);

// Runs fn; any C++ exception becomes a thrown JS Error (never an abort).
template <typename Fn>
Napi::Value guard(Napi::Env env, Fn&& fn) {
  try {
    return fn();
  } catch (const Napi::Error& e) {
    throw;  // already a JS exception
  } catch (...) {
    throw Napi::Error::New(env, describe_exception(std::current_exception()));
  }
}

}  // namespace torchxfer::napi
