// A minimal reader for the uncompressed ("stored") zip archives torch.save writes, over bytes in memory.
// Every offset is bounds-checked: a truncated or corrupt archive throws, naming the file.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace torchxfer {

class ZipArchive {
 public:
  struct Entry {
    uint64_t data_offset = 0;  // of the member's bytes within the archive
    uint64_t size = 0;
    uint32_t crc32 = 0;
  };

  // Parses the central directory of `data` (kept by reference: it must outlive the archive).
  ZipArchive(const std::vector<uint8_t>& data, std::string path);

  const std::vector<std::string>& names() const { return names_; }
  bool has(const std::string& name) const { return entries_.count(name) > 0; }
  // The member's bytes; throws naming the member when it is missing. `verify` checks its CRC-32.
  const uint8_t* member(const std::string& name, uint64_t* size, bool verify) const;

 private:
  [[noreturn]] void fail(const std::string& msg) const;
  const std::vector<uint8_t>& data_;
  std::string path_;
  std::vector<std::string> names_;
  std::unordered_map<std::string, Entry> entries_;
};

bool looks_like_zip(const std::vector<uint8_t>& data);
uint32_t crc32(const uint8_t* p, size_t n);

}  // namespace torchxfer
