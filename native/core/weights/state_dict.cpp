// Format sniffing, whole-file reads and atomic writes for the weight readers.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <unordered_set>

#include "../tensor_io.h"
#include "weights_file.h"
#include "zip_archive.h"

namespace torchxfer {
namespace {

[[noreturn]] void fail_errno(const std::string& path, const std::string& what) {
  throw std::runtime_error(path + ": " + what + " (" + std::strerror(errno) + ")");
}

// A file descriptor closed on scope exit.
struct Fd {
  int fd = -1;
  ~Fd() { if (fd >= 0) ::close(fd); }
};

// Removes the temp file unless the rename happened.
struct TempFile {
  std::string path;
  bool keep = false;
  ~TempFile() { if (!keep && !path.empty()) ::unlink(path.c_str()); }
};

}  // namespace

std::string sniff_weights_format(const std::vector<uint8_t>& b) {
  if (looks_like_zip(b)) return "torch-zip";
  // Legacy torch.save: a protocol-2 pickle of the 10-byte magic number 0x1950a86a20f9469cfc6c.
  static const uint8_t kLegacy[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
  if (b.size() >= sizeof kLegacy && std::memcmp(b.data(), kLegacy, sizeof kLegacy) == 0) return "torch-legacy";
  if (b.size() >= 10) {
    uint64_t n = 0;
    for (int j = 0; j < 8; ++j) n |= static_cast<uint64_t>(b[j]) << (8 * j);
    if (n >= 2 && b[8] == '{') return "safetensors";  // a length then a JSON object: truncation is diagnosed by the reader
  }
  return "";
}

namespace {

// Up to `max` bytes of `s` with control bytes shown as '?', for quoting file contents in messages.
std::string printable(const std::string& s, size_t max = 80) {
  std::string out;
  for (size_t j = 0; j < s.size() && j < max; ++j) out += (static_cast<unsigned char>(s[j]) < 0x20 || s[j] == 0x7f) ? '?' : s[j];
  return out;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The value of "key value" line in a Git LFS pointer ("oid sha256:...", "size 123").
std::string lfs_field(const std::string& text, const std::string& key) {
  size_t at = text.find("\n" + key + " ");
  if (at == std::string::npos) return "?";
  size_t from = at + key.size() + 2, end = text.find('\n', from);
  return printable(text.substr(from, end == std::string::npos ? std::string::npos : end - from));
}

}  // namespace

std::string describe_non_weights(const std::vector<uint8_t>& bytes) {
  const std::string n = std::to_string(bytes.size()) + " bytes";
  if (bytes.empty()) return "the file is empty (0 bytes): an interrupted download or copy; fetch it again";
  std::string head(reinterpret_cast<const char*>(bytes.data()), std::min<size_t>(bytes.size(), 4096));
  if (head.rfind("version https://git-lfs.github.com/spec/", 0) == 0)
    return "it is a Git LFS pointer (" + n + "), not the weights it stands for (" + lfs_field(head, "oid") + ", " + lfs_field(head, "size") +
           " bytes): the repository keeps the file in Git LFS; run `git lfs install && git lfs pull` in the clone, or download the file itself";
  size_t start = head.rfind("\xEF\xBB\xBF", 0) == 0 ? 3 : 0;
  while (start < head.size() && std::isspace(static_cast<unsigned char>(head[start]))) ++start;
  std::string low = lower(head.substr(start));
  if (low.rfind("<!doctype html", 0) == 0 || low.rfind("<html", 0) == 0 || low.rfind("<head", 0) == 0 || low.rfind("<body", 0) == 0) {
    std::string title;
    size_t t = low.find("<title>");
    if (t != std::string::npos) title = head.substr(start + t + 7, low.find("</title>", t) == std::string::npos ? 80 : low.find("</title>", t) - t - 7);
    return "it is an HTML page (" + n + (title.empty() ? "" : ", titled '" + printable(title) + "'") +
           "), not weights: the download saved a web page (an error, login or preview page) instead of the file; check the URL";
  }
  if (low.rfind("<?xml", 0) == 0) return "it is an XML document (" + n + "), not weights (a storage service's error message?): '" + printable(head.substr(start), 160) + "'";
  bool text = true;
  for (unsigned char c : head) text = text && (c >= 0x20 || c == '\n' || c == '\r' || c == '\t');
  if (text) return "it is a text file (" + n + ") starting '" + printable(head.substr(start)) + "'";
  return "found " + n + " of something else";
}

std::vector<uint8_t> read_file_bytes(const std::string& path) {
  Fd f{::open(path.c_str(), O_RDONLY)};
  if (f.fd < 0) fail_errno(path, "cannot open");
  struct stat st;
  if (::fstat(f.fd, &st) != 0) fail_errno(path, "cannot stat");
  if (S_ISDIR(st.st_mode)) throw std::runtime_error(path + ": is a directory, not a weights file");
  std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t k = ::read(f.fd, bytes.data() + done, bytes.size() - done);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) fail_errno(path, "read failed");
    if (k == 0) break;
    done += static_cast<size_t>(k);
  }
  bytes.resize(done);
  return bytes;
}

void write_file_atomic(const std::string& path, const std::vector<std::pair<const void*, size_t>>& pieces) {
  size_t slash = path.find_last_of('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  TempFile tmp{dir + "/." + base + ".tmp-XXXXXX"};
  std::vector<char> name(tmp.path.begin(), tmp.path.end());
  name.push_back('\0');
  Fd f{::mkstemp(name.data())};
  if (f.fd < 0) { tmp.path.clear(); fail_errno(path, "cannot create a temporary file in " + dir); }
  tmp.path = name.data();
  ::fchmod(f.fd, 0644);
  for (auto& [data, size] : pieces) {
    const char* p = static_cast<const char*>(data);
    size_t left = size;
    while (left > 0) {
      ssize_t k = ::write(f.fd, p, left);
      if (k < 0 && errno == EINTR) continue;
      if (k < 0) fail_errno(path, "write failed");
      p += k;
      left -= static_cast<size_t>(k);
    }
  }
  if (::fsync(f.fd) != 0) fail_errno(path, "fsync failed");
  int fd = f.fd;
  f.fd = -1;
  if (::close(fd) != 0) fail_errno(path, "close failed");
  if (::rename(tmp.path.c_str(), path.c_str()) != 0) fail_errno(path, "rename failed");
  tmp.keep = true;
  Fd d{::open(dir.c_str(), O_RDONLY)};  // makes the rename itself durable
  if (d.fd >= 0) ::fsync(d.fd);
}

std::string weights_dtype_name(torch::ScalarType t) {
  // The JS names of tensor_io; types JS has no name for (inspect only) keep LibTorch's.
  try {
    return dtype_name(t);
  } catch (const std::invalid_argument&) {
    return c10::toString(t);
  }
}

void check_tensor_names(const StateDict& tensors, const std::string& path) {
  std::unordered_set<std::string> seen;
  for (auto& [name, t] : tensors) {
    if (name.size() > kMaxTensorName)
      throw std::runtime_error(path + ": tensor name of " + std::to_string(name.size()) + " bytes is longer than the " + std::to_string(kMaxTensorName) +
                               "-byte limit (starts '" + printable(name.substr(0, 40)) + "...'; not a model's parameter name)");
    if (!seen.insert(name).second) throw std::runtime_error(path + ": tensor '" + printable(name) + "' appears twice");
  }
}

WeightsFile read_weights_file(const std::string& path) {
  auto bytes = read_file_bytes(path);
  WeightsFile out;
  out.format = sniff_weights_format(bytes);
  if (out.format == "torch-zip" || out.format == "torch-legacy") {
    TorchObject o = out.format == "torch-zip" ? read_torch_zip(bytes, path) : read_torch_legacy(bytes, path);
    out.tensors = std::move(o.tensors);
    out.container = std::move(o.container);
    out.provenance = std::move(o.provenance);
  } else if (out.format == "safetensors") {
    auto st = parse_safetensors(bytes, path);
    out.tensors = std::move(st.tensors);
    out.metadata = std::move(st.metadata);
    out.container = "state_dict";
  } else {
    throw std::runtime_error(path + ": not a weights file: " + describe_non_weights(bytes) +
                             " (expected a torch.save .pth/.pt zip or legacy file, or safetensors)");
  }
  check_tensor_names(out.tensors, path);
  return out;
}

StateDict read_state_dict(const std::string& path) { return read_weights_file(path).tensors; }

}  // namespace torchxfer
