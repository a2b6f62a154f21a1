#include "json_lite.h"

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace torchxfer::json {
namespace {

struct Parser {
  const std::string& s;
  const std::string& what;
  size_t max_values;
  size_t pos = 0;
  int depth = 0;
  size_t values = 0;

  [[noreturn]] void fail(const std::string& msg) const { throw std::runtime_error(what + ": invalid JSON (" + msg + ") at offset " + std::to_string(pos)); }
  void ws() { while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\n' || s[pos] == '\r' || s[pos] == '\t')) ++pos; }
  char peek() { ws(); if (pos >= s.size()) fail("unexpected end"); return s[pos]; }
  void expect(char c) { if (peek() != c) fail(std::string("expected '") + c + "'"); ++pos; }

  static void put_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) out += static_cast<char>(cp);
    else if (cp < 0x800) { out += static_cast<char>(0xC0 | (cp >> 6)); out += static_cast<char>(0x80 | (cp & 0x3F)); }
    else if (cp < 0x10000) { out += static_cast<char>(0xE0 | (cp >> 12)); out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F)); out += static_cast<char>(0x80 | (cp & 0x3F)); }
    else { out += static_cast<char>(0xF0 | (cp >> 18)); out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F)); out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F)); out += static_cast<char>(0x80 | (cp & 0x3F)); }
  }
  unsigned hex4() {
    if (pos + 4 > s.size()) fail("truncated \\u escape");
    unsigned v = 0;
    for (int j = 0; j < 4; ++j) {
      char c = s[pos++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= c - '0';
      else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
      else fail("bad \\u escape");
    }
    return v;
  }
  std::string string() {
    expect('"');
    std::string out;
    while (true) {
      if (pos >= s.size()) fail("unterminated string");
      char c = s[pos++];
      if (c == '"') return out;
      if (c != '\\') { out += c; continue; }
      if (pos >= s.size()) fail("unterminated string");
      char e = s[pos++];
      switch (e) {
        case '"': case '\\': case '/': out += e; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned cp = hex4();
          if (cp >= 0xD800 && cp < 0xDC00 && pos + 1 < s.size() && s[pos] == '\\' && s[pos + 1] == 'u') {
            pos += 2;
            unsigned lo = hex4();
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          put_utf8(out, cp);
          break;
        }
        default: fail("bad escape");
      }
    }
  }
  Node value() {
    if (++depth > 64) fail("nested too deeply");
    if (++values > max_values) fail("more than " + std::to_string(max_values) + " values, the limit for " + std::to_string(s.size()) + " bytes of header");
    Node n;
    char c = peek();
    if (c == '{') {
      ++pos;
      n.kind = Node::Kind::Object;
      if (peek() == '}') { ++pos; --depth; return n; }
      while (true) {
        std::string key = string();
        expect(':');
        n.members.emplace_back(std::move(key), value());
        if (peek() == ',') { ++pos; continue; }
        expect('}');
        break;
      }
    } else if (c == '[') {
      ++pos;
      n.kind = Node::Kind::Array;
      if (peek() == ']') { ++pos; --depth; return n; }
      while (true) {
        n.items.push_back(value());
        if (peek() == ',') { ++pos; continue; }
        expect(']');
        break;
      }
    } else if (c == '"') {
      n.kind = Node::Kind::String;
      n.str = string();
    } else if (s.compare(pos, 4, "true") == 0) { pos += 4; n.kind = Node::Kind::Bool; n.b = true; }
    else if (s.compare(pos, 5, "false") == 0) { pos += 5; n.kind = Node::Kind::Bool; }
    else if (s.compare(pos, 4, "null") == 0) { pos += 4; }
    else {
      const char* start = s.c_str() + pos;
      char* end = nullptr;
      n.number = std::strtod(start, &end);
      if (end == start) fail("unexpected character");
      pos += static_cast<size_t>(end - start);
      n.kind = Node::Kind::Number;
    }
    --depth;
    return n;
  }
};

}  // namespace

const Node* Node::get(const std::string& key) const {
  for (auto& [k, v] : members)
    if (k == key) return &v;
  return nullptr;
}

Node parse(const std::string& text, const std::string& what, size_t max_values) {
  Parser p{text, what, max_values};
  Node n = p.value();
  p.ws();
  if (p.pos != text.size()) p.fail("trailing characters");
  return n;
}

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') { out += '\\'; out += static_cast<char>(c); }
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20) { char buf[8]; std::snprintf(buf, sizeof buf, "\\u%04x", c); out += buf; }
    else out += static_cast<char>(c);
  }
  return out + "\"";
}

}  // namespace torchxfer::json
