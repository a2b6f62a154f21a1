// Weight I/O interface of the core (implemented by the weights readers/writers in this folder).
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

namespace torchxfer {

// An ordered state_dict: names exactly as torchvision names them, CPU tensors.
using StateDict = std::vector<std::pair<std::string, torch::Tensor>>;

// Reads weights from `path`, recognising the format by content, not by extension:
// torch.save zip (.pth/.pt), legacy (non-zip) torch.save, or safetensors.
// Throws std::runtime_error naming the file and what is wrong (never executes anything).
StateDict read_state_dict(const std::string& path);

struct SafetensorsFile {
  StateDict tensors;
  std::map<std::string, std::string> metadata;  // the "__metadata__" string map
};
SafetensorsFile read_safetensors(const std::string& path);
// Written atomically: a temp file in the same directory, fsync, then rename.
void write_safetensors(const std::string& path, const StateDict& tensors, const std::map<std::string, std::string>& metadata);

}  // namespace torchxfer
