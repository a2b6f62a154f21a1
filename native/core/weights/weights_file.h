// The readers behind state_dict.h, one per format, over a file already read into memory.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "state_dict.h"

namespace torchxfer {

// "torch-zip", "torch-legacy", "safetensors", or "" when the bytes are none of these.
std::string sniff_weights_format(const std::vector<uint8_t>& bytes);

// What a torch.save file says about where it came from (for `weights inspect` and load reports).
struct TorchProvenance {
  std::string era;                          // "torch 0.3 or earlier (legacy format, _rebuild_tensor)", ...
  std::vector<std::string> storage_types;   // "torch.cuda.FloatStorage", ... (a finite set)
  std::vector<std::string> locations;       // where the storages were saved: "cuda:0", "cpu" (at most 8 named)
  std::vector<std::string> checkpoint_keys;  // a training checkpoint's other entries: "epoch", "optimizer" (at most 32)
  std::string stripped_prefix;              // "module." when DataParallel's prefix was stripped from the names
};

struct WeightsFile {
  std::string format;     // as sniff_weights_format
  std::string container;  // what held the tensors: "state_dict", "checkpoint, weights under 'model'", "pickled module of class X, read as data"
  StateDict tensors;      // file order; a checkpoint's nested state_dict, "module." stripped
  std::map<std::string, std::string> metadata;  // safetensors only
  TorchProvenance provenance;                   // torch.save files only
};
// What a torch.save file held: its tensors and how they were found.
struct TorchObject {
  StateDict tensors;
  std::string container;
  TorchProvenance provenance;
};
WeightsFile read_weights_file(const std::string& path);

std::vector<uint8_t> read_file_bytes(const std::string& path);
// Writes `bytes` pieces to `path` atomically: temp file in the same directory, fsync, rename.
void write_file_atomic(const std::string& path, const std::vector<std::pair<const void*, size_t>>& pieces);

TorchObject read_torch_zip(const std::vector<uint8_t>& bytes, const std::string& path);
TorchObject read_torch_legacy(const std::vector<uint8_t>& bytes, const std::string& path);
SafetensorsFile parse_safetensors(const std::vector<uint8_t>& bytes, const std::string& path);

// Tensor names longer than this are refused by name (real ones are under 300 bytes); also refuses duplicates.
constexpr size_t kMaxTensorName = 1024;
void check_tensor_names(const StateDict& tensors, const std::string& path);
// What a file that is not weights is (empty, a Git LFS pointer, an HTML page, text), for the error.
std::string describe_non_weights(const std::vector<uint8_t>& bytes);

// Torch's dtype names as JS and safetensors users know them: "float32", "float16", "bfloat16", ...
std::string weights_dtype_name(torch::ScalarType t);

}  // namespace torchxfer
