#include "train_bench.h"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <stdexcept>

#include "../core/models/classifier.h"
#include "../core/runtime.h"
#include "../core/train/trainer.h"

namespace torchxfer::bench {
namespace {

using Clock = std::chrono::steady_clock;

void sync(const torch::Device& device) {
  if (device.is_cuda()) torch::ones({1}, torch::TensorOptions().device(device)).cpu();  // waits for the stream
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

struct Setup {
  std::shared_ptr<Classifier> model;
  std::unique_ptr<Trainer> trainer;
  torch::Tensor images, targets;
};

Setup make_setup(const std::string& arch, int64_t batch, int64_t size, bool channels_last, const std::string& device) {
  ClassifierConfig mc;
  const auto parsed = parse_enum(kArchs, arch);
  if (!parsed) throw std::invalid_argument("unknown architecture '" + arch + "': " + enum_choices(kArchs));
  mc.arch = *parsed;
  Setup s;
  torch::manual_seed(0);
  s.model = Classifier::create(mc);
  TrainerConfig tc;
  tc.augment.crop = size;
  tc.train_augmentation = false;  // as `npm run bench`: centre crop only, the same work as PyTorch's step
  tc.device = device;
  tc.channels_last = channels_last;
  s.trainer = std::make_unique<Trainer>(s.model, tc);
  s.images = torch::randint(0, 256, {batch, 3, size, size}, torch::kUInt8);
  s.targets = (torch::rand({batch, 1}) > 0.5).to(torch::kFloat32);
  return s;
}

}  // namespace

int train_command(const std::vector<std::string>& args) {
  if (args.size() < 4) throw std::invalid_argument("usage: torchxfer_bench train ARCH BATCH SIZE ITERS [nchw|cl] [DEVICE] [phases]");
  const std::string arch = args[0];
  const int64_t batch = std::stoll(args[1]), size = std::stoll(args[2]), iters = std::stoll(args[3]);
  const bool channels_last = args.size() > 4 && args[4] == "cl";
  const std::string device_spec = args.size() > 5 ? args[5] : "cpu";
  const bool phases = args.size() > 6 && args[6] == "phases";
  Setup s = make_setup(arch, batch, size, channels_last, device_spec);
  const torch::Device device = s.model->device();
  const std::vector<double> lrs(Classifier::kNumGroups, 1e-4), momenta(Classifier::kNumGroups, 0.9);
  std::lock_guard<std::mutex> lock(s.model->mutex());

  std::vector<double> step_ms;
  for (int64_t i = 0; i < iters + 2; ++i) {  // two warm-up steps
    auto t0 = Clock::now();
    s.trainer->step(s.images, s.targets, lrs, momenta, i);
    sync(device);
    if (i >= 2) step_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::cout << "{\"case\":\"" << arch << ":train:b" << batch << ":s" << size << ":" << (channels_last ? "cl" : "nchw") << "\",\"device\":\""
            << device.str() << "\",\"stepMs\":" << median(step_ms);

  if (phases) {  // the same work as step(), split: each phase timed to a device sync
    std::map<std::string, std::vector<double>> t;
    std::vector<std::vector<std::pair<std::string, torch::Tensor>>> groups;
    for (int g = 0; g < Classifier::kNumGroups; ++g) {
      std::vector<std::pair<std::string, torch::Tensor>> group;
      for (auto& p : s.model->group_parameters(g)) group.emplace_back(std::to_string(group.size()), p);
      groups.push_back(group);
    }
    GroupOptimizer optimizer(groups, OptimizerConfig{});
    AugmentConfig ac;
    ac.crop = size;
    s.model->set_training(true);
    for (int64_t i = 0; i < iters + 2; ++i) {
      auto mark = Clock::now();
      auto lap = [&](const std::string& name) {
        sync(device);
        auto now = Clock::now();
        if (i >= 2) t[name].push_back(std::chrono::duration<double, std::milli>(now - mark).count());
        mark = now;
      };
      torch::Tensor x = augment_batch(s.images.to(device), ac, false, 0);
      if (channels_last) x = x.contiguous(torch::MemoryFormat::ChannelsLast);
      lap("augment");
      std::vector<torch::Tensor> saved;
      for (const auto& b : s.model->module().buffers()) saved.push_back(b.detach().clone());
      lap("bufferSnapshot");
      torch::Tensor loss = masked_bce_with_logits(s.model->forward(x), s.targets.to(device));
      lap("forward");
      loss.backward();
      lap("backward");
      {
        torch::NoGradGuard no_grad;
        torch::Tensor total = torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat64).device(device));
        for (auto& p : s.model->module().parameters())
          if (p.grad().defined()) total += p.grad().sum().to(torch::kFloat64);
        (void)total.item<double>();
      }
      lap("gradCheck");
      optimizer.step(lrs, momenta);
      lap("optimizer");
      optimizer.zero_grad();
    }
    std::cout << ",\"phasesMs\":{";
    bool first = true;
    for (const auto& [name, samples] : t) {
      std::cout << (first ? "" : ",") << "\"" << name << "\":" << median(samples);
      first = false;
    }
    std::cout << "}";
  }
  std::cout << "}" << std::endl;
  return 0;
}

}  // namespace torchxfer::bench
