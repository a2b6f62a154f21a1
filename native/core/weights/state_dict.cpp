// Format sniffing, whole-file reads and atomic writes for the weight readers.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>

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

WeightsFile read_weights_file(const std::string& path) {
  auto bytes = read_file_bytes(path);
  WeightsFile out;
  out.format = sniff_weights_format(bytes);
  if (out.format == "torch-zip") out.tensors = read_torch_zip(bytes, path);
  else if (out.format == "torch-legacy") out.tensors = read_torch_legacy(bytes, path);
  else if (out.format == "safetensors") {
    auto st = parse_safetensors(bytes, path);
    out.tensors = std::move(st.tensors);
    out.metadata = std::move(st.metadata);
  } else {
    throw std::runtime_error(path + ": not a weights file (expected a torch.save .pth/.pt zip or legacy file, or safetensors; " +
                             (bytes.empty() ? std::string("the file is empty") : "found " + std::to_string(bytes.size()) + " bytes of something else") + ")");
  }
  return out;
}

StateDict read_state_dict(const std::string& path) { return read_weights_file(path).tensors; }

}  // namespace torchxfer
