#include "zip_archive.h"

#include <algorithm>
#include <array>
#include <stdexcept>

namespace torchxfer {
namespace {

uint64_t rd(const std::vector<uint8_t>& d, uint64_t off, int bytes) {
  uint64_t v = 0;
  for (int j = 0; j < bytes; ++j) v |= static_cast<uint64_t>(d[off + j]) << (8 * j);
  return v;
}

// Slicing-by-8 tables: CRC-32 of every member is checked on read, so it must keep up with the disk.
using CrcTables = std::array<std::array<uint32_t, 256>, 8>;
CrcTables make_crc_tables() {
  CrcTables t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; ++i)
    for (int s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFF];
  return t;
}

}  // namespace

uint32_t crc32(const uint8_t* p, size_t n) {
  static const CrcTables t = make_crc_tables();
  uint32_t c = 0xFFFFFFFFu;
  for (; n >= 8; n -= 8, p += 8) {
    uint32_t lo = c ^ (uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24);
    c = t[7][lo & 0xFF] ^ t[6][(lo >> 8) & 0xFF] ^ t[5][(lo >> 16) & 0xFF] ^ t[4][lo >> 24] ^ t[3][p[4]] ^ t[2][p[5]] ^ t[1][p[6]] ^ t[0][p[7]];
  }
  for (; n > 0; --n, ++p) c = t[0][(c ^ *p) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

bool looks_like_zip(const std::vector<uint8_t>& d) { return d.size() >= 4 && rd(d, 0, 4) == 0x04034b50; }

void ZipArchive::fail(const std::string& msg) const { throw std::runtime_error(path_ + ": " + msg); }

ZipArchive::ZipArchive(const std::vector<uint8_t>& data, std::string path) : data_(data), path_(std::move(path)) {
  const uint64_t n = data_.size();
  auto need = [&](uint64_t off, uint64_t len, const char* what) {
    if (off > n || len > n - off) fail(std::string("corrupt or truncated zip archive (") + what + " lies outside the file)");
  };
  // The end-of-central-directory record: the last 22 bytes plus a comment of up to 64 KiB.
  if (n < 22) fail("truncated zip archive (no end-of-central-directory record)");
  int64_t eocd = -1;
  uint64_t lowest = n >= 22 + 65535 ? n - 22 - 65535 : 0;
  for (uint64_t off = n - 22 + 1; off-- > lowest;) {
    if (rd(data_, off, 4) == 0x06054b50) { eocd = static_cast<int64_t>(off); break; }
  }
  if (eocd < 0) fail("truncated or corrupt zip archive (no end-of-central-directory record)");
  uint64_t count = rd(data_, eocd + 10, 2);
  uint64_t cd_size = rd(data_, eocd + 12, 4);
  uint64_t cd_offset = rd(data_, eocd + 16, 4);
  if (count == 0xFFFF || cd_offset == 0xFFFFFFFF || cd_size == 0xFFFFFFFF) {  // ZIP64: follow the locator
    if (eocd < 20 || rd(data_, eocd - 20, 4) != 0x07064b50) fail("corrupt zip64 archive (no zip64 locator)");
    uint64_t z = rd(data_, eocd - 20 + 8, 8);
    need(z, 56, "zip64 end record");
    if (rd(data_, z, 4) != 0x06064b50) fail("corrupt zip64 archive (bad zip64 end record)");
    count = rd(data_, z + 32, 8);
    cd_size = rd(data_, z + 40, 8);
    cd_offset = rd(data_, z + 48, 8);
  }
  need(cd_offset, cd_size, "central directory");
  if (count > cd_size / 46) fail("corrupt zip archive (" + std::to_string(count) + " entries cannot fit a central directory of " + std::to_string(cd_size) + " bytes)");
  std::vector<std::pair<uint64_t, uint64_t>> regions;  // [local header, end of data) of each member
  uint64_t p = cd_offset;
  for (uint64_t e = 0; e < count; ++e) {
    need(p, 46, "central directory entry");
    if (rd(data_, p, 4) != 0x02014b50) fail("corrupt zip archive (bad central directory entry " + std::to_string(e) + ")");
    uint64_t method = rd(data_, p + 10, 2);
    Entry entry;
    entry.crc32 = static_cast<uint32_t>(rd(data_, p + 16, 4));
    uint64_t comp = rd(data_, p + 20, 4), size = rd(data_, p + 24, 4);
    uint64_t name_len = rd(data_, p + 28, 2), extra_len = rd(data_, p + 30, 2), comment_len = rd(data_, p + 32, 2);
    uint64_t local = rd(data_, p + 42, 4);
    need(p + 46, name_len + extra_len + comment_len, "central directory entry");
    std::string name(reinterpret_cast<const char*>(&data_[p + 46]), name_len);
    // ZIP64 extra field: the 64-bit values of whichever fields hold 0xFFFFFFFF, in this order.
    for (uint64_t x = p + 46 + name_len; x + 4 <= p + 46 + name_len + extra_len;) {
      uint64_t id = rd(data_, x, 2), len = rd(data_, x + 2, 2);
      uint64_t f = x + 4, end = std::min(f + len, p + 46 + name_len + extra_len);
      if (id == 0x0001) {
        if (size == 0xFFFFFFFF && f + 8 <= end) { size = rd(data_, f, 8); f += 8; }
        if (comp == 0xFFFFFFFF && f + 8 <= end) { comp = rd(data_, f, 8); f += 8; }
        if (local == 0xFFFFFFFF && f + 8 <= end) { local = rd(data_, f, 8); f += 8; }
      }
      x += 4 + len;
    }
    if (method != 0) fail("zip member " + name + " is compressed (method " + std::to_string(method) + "); torch.save stores members uncompressed");
    if (comp != size) fail("corrupt zip archive (member " + name + " sizes disagree)");
    need(local, 30, "local header");
    if (rd(data_, local, 4) != 0x04034b50) fail("corrupt zip archive (bad local header of " + name + ")");
    entry.data_offset = local + 30 + rd(data_, local + 26, 2) + rd(data_, local + 28, 2);
    entry.size = size;
    need(entry.data_offset, entry.size, ("member " + name).c_str());
    if (!entries_.emplace(name, entry).second) fail("corrupt zip archive (member " + name + " appears twice)");
    names_.push_back(name);
    regions.emplace_back(local, entry.data_offset + entry.size);
    p += 46 + name_len + extra_len + comment_len;
  }
  // As reference readers require: members lie one after another before the central directory, never
  // sharing bytes (many entries over one member would let a small file make many large copies).
  std::sort(regions.begin(), regions.end());
  for (size_t j = 0; j < regions.size(); ++j) {
    uint64_t end = j + 1 < regions.size() ? regions[j + 1].first : cd_offset;
    if (regions[j].second > end)
      fail("corrupt zip archive (the member at byte " + std::to_string(regions[j].first) + " overlaps " +
           (j + 1 < regions.size() ? "the next member" : std::string("the central directory")) + "; members must be disjoint)");
  }
}

const uint8_t* ZipArchive::member(const std::string& name, uint64_t* size, bool verify) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) fail("zip archive has no member " + name);
  const uint8_t* p = data_.data() + it->second.data_offset;
  if (verify && crc32(p, it->second.size) != it->second.crc32) fail("zip member " + name + " is corrupt (CRC-32 mismatch)");
  *size = it->second.size;
  return p;
}

}  // namespace torchxfer
