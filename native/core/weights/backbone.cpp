#include "backbone.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <unordered_map>

namespace torchxfer {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

bool is_counter(const std::string& name) { return ends_with(name, "num_batches_tracked"); }  // absent from old files

// Equal shapes, or the first conv with another number of input channels (a grey model sums RGB weights).
bool shapes_fit(const std::string& name, const std::vector<int64_t>& file, const std::vector<int64_t>& model, const ArchKeys& arch) {
  if (file == model) return true;
  if (name != arch.first_conv || file.size() != 4 || model.size() != 4) return false;
  return file[0] == model[0] && file[2] == model[2] && file[3] == model[3];
}

struct PrefixStats {
  size_t found = 0;
  std::vector<std::string> mismatched;
};

// Every split of `name` at a dot whose tail is a backbone key counts for the prefix before it.
std::map<std::string, PrefixStats> count_prefixes(const std::vector<std::string>& names, const ShapeList& file,
                                                  const std::unordered_map<std::string, std::vector<int64_t>>& backbone, const ArchKeys& arch) {
  std::map<std::string, PrefixStats> stats;
  size_t longest = 0;  // only tails this long can be keys: linear in the names, however many dots they hold
  for (auto& [key, shape] : backbone) longest = std::max(longest, key.size());
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string& n = names[i];
    const size_t from = n.size() > longest ? n.size() - longest : 0;
    for (size_t p = from; p < n.size(); p = n.find('.', p) == std::string::npos ? n.size() : n.find('.', p) + 1) {
      if (p > 0 && n[p - 1] != '.') continue;  // a tail starts the name or follows a dot
      auto it = backbone.find(n.substr(p));
      if (it == backbone.end()) continue;
      PrefixStats& s = stats[n.substr(0, p)];
      if (shapes_fit(it->first, file[i].second, it->second, arch)) ++s.found;
      else if (s.mismatched.size() < 12) s.mismatched.push_back(it->first + ": file " + shape_text(file[i].second) + " vs model " + shape_text(it->second));
    }
  }
  return stats;
}

// The model's head features: the second dimension of "<head>.weight".
int64_t head_features(const ArchKeys& arch) {
  for (auto& [name, shape] : arch.keys)
    if (name == arch.head + ".weight" && shape.size() == 2) return shape[1];
  return -1;
}

// A head stored as a Sequential ("classifier.0.weight", "fc.1.bias"): its one Linear of the model's
// features becomes the head; the other members' tensors are left out.
void read_sequential_head(const std::vector<std::string>& names, const std::vector<size_t>& members, const ShapeList& file,
                          const ArchKeys& arch, BackboneMatch& m) {
  const std::string h = arch.head + ".";
  const int64_t features = head_features(arch);
  std::vector<std::string> linears;  // members with a [n, features] weight
  for (size_t i : members) {
    const std::string rest = names[i].substr(m.prefix.size() + h.size());  // "0.weight"
    const std::string member = rest.substr(0, rest.rfind('.'));
    if (rest == member + ".weight" && file[i].second.size() == 2 && file[i].second[1] == features) linears.push_back(member);
  }
  std::vector<std::string> others;
  for (size_t i : members) {
    const std::string rest = names[i].substr(m.prefix.size() + h.size());
    const std::string member = rest.substr(0, rest.rfind('.')), field = rest.substr(rest.rfind('.') + 1);
    if (linears.size() == 1 && member == linears[0] && (field == "weight" || field == "bias")) {
      m.renamed[i] = arch.head + "." + field;
      if (field == "weight") m.head_shape = file[i].second;
      continue;
    }
    const std::string why = linears.size() == 1 ? "a member of the Sequential head other than its Linear"
                                                : "the Sequential head has no single Linear of " + std::to_string(features) + " features";
    m.left_out.push_back(file[i].first + " (" + why + ")");
    if (std::find(others.begin(), others.end(), h + member) == others.end()) others.push_back(h + member);
  }
  if (linears.size() != 1) {
    m.head_note = "the file's head " + arch.head + " is a Sequential without a single Linear of " + std::to_string(features) + " features: left out";
    return;
  }
  m.head = h + linears[0];
  std::string note = "the Linear at " + m.head + " of a Sequential head " + shape_text(m.head_shape) + " read as " + arch.head;
  note += others.empty() ? "; the Sequential's other members hold no tensors: an activation there (CheXNet's Sigmoid) is not applied, the model outputs logits"
                         : "; other members left out: " + others[0] + (others.size() > 1 ? " and " + std::to_string(others.size() - 1) + " more" : "");
  m.head_note = note;
}

// With the prefix chosen: names under it lose it (the head read as above), names outside it are left out.
void rename_under_prefix(const std::vector<std::string>& names, const ShapeList& file, const ArchKeys& arch, BackboneMatch& m) {
  const std::string h = arch.head + ".";
  std::vector<size_t> sequential;
  m.renamed.assign(names.size(), "");
  for (size_t i = 0; i < names.size(); ++i) {
    if (!starts_with(names[i], m.prefix)) {
      m.left_out.push_back(file[i].first + " (outside '" + m.prefix + "', where the " + arch.arch + " backbone is)");
      continue;
    }
    const std::string rest = names[i].substr(m.prefix.size());
    m.old_names = m.old_names || names[i] != file[i].first;
    if (starts_with(rest, h) && rest.find('.', h.size()) != std::string::npos) {
      sequential.push_back(i);
      continue;
    }
    m.renamed[i] = rest;
    if (rest == arch.head + ".weight") {
      m.head = arch.head;
      m.head_shape = file[i].second;
    }
  }
  if (!sequential.empty()) read_sequential_head(names, sequential, file, arch, m);
}

}  // namespace

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

BackboneMatch find_backbone(const ShapeList& file, const ArchKeys& arch) {
  std::unordered_map<std::string, std::vector<int64_t>> backbone;
  for (auto& [name, shape] : arch.keys)
    if (!starts_with(name, arch.head + ".") && !is_counter(name)) backbone.emplace(name, shape);
  std::vector<std::string> names;  // pre-0.4 DenseNet names remapped (only their tail changes: prefixes stay)
  names.reserve(file.size());
  for (auto& [name, shape] : file) names.push_back(arch.arch == "densenet121" ? remap_old_densenet_key(name) : name);

  BackboneMatch m;
  m.expected = backbone.size();
  const auto stats = count_prefixes(names, file, backbone, arch);
  const PrefixStats* best = nullptr;
  for (auto& [prefix, s] : stats) {
    if (s.found == m.expected) m.complete_prefixes.push_back(prefix);
    // Most keys found; on a tie the shorter prefix (map order puts "" and shorter strings first).
    if (!best || s.found > best->found || (s.found == best->found && prefix.size() < m.prefix.size())) {
      best = &s;
      m.prefix = prefix;
    }
  }
  if (m.complete_prefixes.size() > 1 || !best || best->found == 0) {
    m.prefix.clear();  // ambiguous or nothing found: names go through unchanged
    if (best && best->found == 0) m.mismatched = stats.count("") ? stats.at("").mismatched : best->mismatched;
    m.renamed.assign(names.begin(), names.end());
    return m;
  }
  m.complete = m.complete_prefixes.size() == 1;
  m.found = best->found;
  m.mismatched = best->mismatched;
  rename_under_prefix(names, file, arch, m);
  return m;
}

std::string ambiguous_backbones(const std::string& arch, const std::vector<std::string>& prefixes) {
  std::string list;
  for (size_t i = 0; i < prefixes.size(); ++i) list += (i ? ", " : "") + ("'" + prefixes[i] + "'");
  return "the weights hold " + std::to_string(prefixes.size()) + " complete " + arch + " backbones, under the prefixes " + list +
         ": which one to load is ambiguous (save the one you want as a state_dict of its own)";
}

// ^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$ matched by
// hand: std::regex recurses once per character, so a long key from a file would overflow the stack.
std::string remap_old_densenet_key(const std::string& key) {
  for (const char* field : {"weight", "bias", "running_mean", "running_var"}) {
    const std::string tail = std::string(".") + field;
    if (!ends_with(key, tail) || key.size() < tail.size() + 7) continue;  // ".conv.1" + tail at least
    const size_t digit = key.size() - tail.size() - 1;  // the '1' or '2'
    if ((key[digit] != '1' && key[digit] != '2') || key[digit - 1] != '.') return key;
    const std::string head = key.substr(0, digit - 1);  // "...denselayer12.norm"
    if (!ends_with(head, ".norm") && !ends_with(head, ".relu") && !ends_with(head, ".conv")) return key;
    size_t j = head.size() - 5;  // the digits of denselayerN end here
    size_t digits_end = j;
    while (j > 0 && std::isdigit(static_cast<unsigned char>(head[j - 1]))) --j;
    if (j == digits_end || !ends_with(head.substr(0, j), "denselayer")) return key;
    return head + key.substr(digit);
  }
  return key;
}

}  // namespace torchxfer
