// Backbone discovery: where in a weights file an architecture's state_dict sits. Real checkpoints wrap
// the network (DataParallel's "module.", a wrapper class's attribute "densenet121.", "model.",
// "backbone.", ...), keep pre-0.4 DenseNet names ("norm.1") and store the head as a Sequential
// ("classifier.0" Linear then a Sigmoid). Works on names and shapes only, so `weights inspect` and the
// early `--init` check use it without a model; every shape is checked, nothing is guessed from names alone.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace torchxfer {

using ShapeList = std::vector<std::pair<std::string, std::vector<int64_t>>>;

// What an architecture's model holds: its state_dict names and shapes, the head and the first conv.
struct ArchKeys {
  std::string arch;        // "densenet121" | "resnet50"
  std::string head;        // module name of the Linear head: "classifier" | "fc"
  std::string first_conv;  // "features.conv0.weight" | "conv1.weight": its input channels may differ (grey models)
  ShapeList keys;          // the model's state_dict, head included, in order
};

struct BackboneMatch {
  bool complete = false;  // every backbone key found under `prefix` with the model's shape
  std::string prefix;     // in the names given: "" (direct), "densenet121.", "module.model."...
  size_t found = 0;       // backbone keys found under `prefix` with the model's shape
  size_t expected = 0;    // backbone keys of the architecture (head and BatchNorm counters excluded)
  std::vector<std::string> mismatched;  // "name: file [a] vs model [b]" under `prefix`
  bool old_names = false;               // pre-0.4 DenseNet names ("norm.1") were remapped
  std::string head;                     // the head's Linear in the file, prefix removed ("classifier.0"), or ""
  std::vector<int64_t> head_shape;      // its weight's shape [outputs, features]
  std::string head_note;                // how the head was read (a Sequential's other members, ...)
  std::vector<std::string> complete_prefixes;  // every prefix holding a complete backbone (ambiguous when > 1)
  // For each input name: the model's name it loads as, or "" when it is left out (then named in left_out).
  std::vector<std::string> renamed;
  std::vector<std::string> left_out;  // "name (why)"
};

// Finds `arch`'s backbone in `file`: directly, or under the one prefix that holds all of it with every
// shape matching. Without a complete match, the prefix holding most of it (for reports and non-strict loads).
BackboneMatch find_backbone(const ShapeList& file, const ArchKeys& arch);

// The error for a file holding `arch` complete under several prefixes (a student and a teacher, ...).
std::string ambiguous_backbones(const std::string& arch, const std::vector<std::string>& prefixes);

// torchvision's DenseNet._load_state_dict: "denselayer1.norm.1.weight" -> "denselayer1.norm1.weight".
std::string remap_old_densenet_key(const std::string& key);

// "[a, b]"
std::string shape_text(const std::vector<int64_t>& shape);

}  // namespace torchxfer
