// torchxfer_bench: links the plain C++ core (no Node) so machines without Node can measure it.
// Usage: torchxfer_bench [info|matmul N ITERS [DEVICE]|train ARCH BATCH SIZE ITERS [nchw|cl] [DEVICE] [phases]]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "../core/cpu_cache.h"
#include "../core/runtime.h"
#include "train_bench.h"

int main(int argc, char** argv) {
  try {
    torchxfer::set_num_threads(torchxfer::default_num_threads());
    torchxfer::tune_allocator();
    torchxfer::install_cpu_cache();
    std::string cmd = argc > 1 ? argv[1] : "info";
    if (cmd == "info") {
      auto r = torchxfer::runtime_info();
      std::cout << "{\"torchVersion\":\"" << r.torch_version << "\",\"cudaCompiled\":" << (r.cuda_compiled ? "true" : "false")
                << ",\"cudaAvailable\":" << (r.cuda_available ? "true" : "false") << ",\"cudaDeviceCount\":" << r.cuda_device_count
                << ",\"numThreads\":" << r.num_threads << "}" << std::endl;
      return 0;
    }
    if (cmd == "matmul") {
      int n = argc > 2 ? std::atoi(argv[2]) : 1024;
      int iters = argc > 3 ? std::atoi(argv[3]) : 10;
      auto device = torchxfer::parse_device(argc > 4 ? argv[4] : "auto");
      auto a = torch::randn({n, n}, torch::TensorOptions().device(device));
      auto b = torch::randn({n, n}, torch::TensorOptions().device(device));
      auto c = torch::matmul(a, b);  // warm-up
      if (device.is_cuda()) c.cpu();
      auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < iters; ++i) c = torch::matmul(a, b);
      if (device.is_cuda()) c.cpu();
      double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / iters;
      double gflops = 2.0 * n * n * n / (ms * 1e6);
      std::cout << "{\"op\":\"matmul\",\"n\":" << n << ",\"device\":\"" << device.str() << "\",\"msPerIter\":" << ms << ",\"gflops\":" << gflops << "}" << std::endl;
      return 0;
    }
    if (cmd == "train") return torchxfer::bench::train_command(std::vector<std::string>(argv + 2, argv + argc));
    std::cerr << "unknown command '" << cmd << "' (expected info, matmul or train)" << std::endl;
    return 2;
  } catch (const c10::Error& e) {
    std::cerr << "error: " << e.what_without_backtrace() << std::endl;
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << std::endl;
    return 1;
  }
}
