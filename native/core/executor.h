// One long-lived thread that runs all LibTorch work, in submission order. Plain C++, no napi.h.
// Why not libuv's pool: OpenMP keeps one thread team per calling OS thread, and libgomp throttles
// its spin-waiting once the process has more team threads than cores; with steps hopping between
// four libuv workers every parallel region paid a futex wake-up (DenseNet121 training step
// 2.08 s vs 1.80 s on one thread, 2-core machine). One thread also keeps CUDA's current stream and
// oneDNN's thread-local caches warm, and leaves libuv's pool to file I/O and image decoding.
#pragma once
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace torchxfer {

class SerialExecutor {
 public:
  SerialExecutor();
  ~SerialExecutor();  // finishes the queued tasks, then joins
  SerialExecutor(const SerialExecutor&) = delete;
  SerialExecutor& operator=(const SerialExecutor&) = delete;

  // Queues a task; tasks must not throw (wrap them) and must not wait on a later task.
  void submit(std::function<void()> task);
  // True on this executor's own thread (a task that would wait on the queue must not run there).
  bool on_executor_thread() const { return std::this_thread::get_id() == thread_.get_id(); }

 private:
  void loop();
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

// The process-wide executor for LibTorch compute (created on first use, never destroyed: a running
// step must not delay process exit, and static destruction order must not matter).
SerialExecutor& compute_executor();

}  // namespace torchxfer
