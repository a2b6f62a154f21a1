#include "errors.h"

#include <c10/util/Exception.h>

namespace torchxfer::napi {

std::string describe_exception(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const c10::Error& e) {
    // what() carries a C++ stack trace in LibTorch builds; users need the message only.
    std::string msg = e.what_without_backtrace();
    auto pos = msg.find("\nException raised from");
    if (pos != std::string::npos) msg.erase(pos);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    return msg;
  } catch (const std::bad_alloc&) {
    return "out of memory";
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown native error";
  }
}

}  // namespace torchxfer::napi
