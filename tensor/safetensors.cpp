// safetensors.cpp — the safetensors reader and writer (format described in safetensors.h).
//
// Reading in four steps, each distrusting the file: (1) the 8-byte header length against the file's
// size, (2) the header through a small strict JSON parser, (3) each entry's dtype, shape and offsets
// against the data buffer, and all entries together for overlaps and gaps, (4) only then the bytes,
// converted to float32. Writing builds the header with a small JSON writer and streams the tensors'
// floats behind it into a temporary file that is renamed over the target when complete.
#include "tensor/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <set>
#include <stdexcept>
#include <string_view>
#include <utility>

#include <fmt/format.h>

namespace hd {

// The format is little-endian and so is every machine hundun targets: bytes are copied as they are.
static_assert(std::endian::native == std::endian::little, "safetensors.cpp assumes a little-endian machine");

namespace {

// Real headers are at most a few MB; the reference implementation refuses more than 100 MB.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
// A safetensors header nests three deep ({name: {shape: [..]}}); anything much deeper is an attack
// on the parser's stack.
constexpr int kMaxJsonDepth = 32;

// A problem with the file's contents. parse_safetensors prefixes it with the file's name.
struct FormatError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// ---------------------------------------------------------------------------------------------
// UTF-8
// ---------------------------------------------------------------------------------------------

// Length of the well-formed UTF-8 sequence starting at s[i] (1 to 4), or 0 when it is malformed:
// a stray continuation byte, a truncated sequence, an overlong encoding, a UTF-16 surrogate
// (U+D800..U+DFFF) or a code point above U+10FFFF.
size_t utf8_sequence_length(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return i + k < s.size() ? static_cast<uint8_t>(s[i + k]) : 0; };
  auto continuation = [&](size_t k) { return (byte(k) & 0xC0) == 0x80; };
  uint8_t b0 = byte(0);
  if (b0 < 0x80) return i < s.size() ? 1 : 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) return continuation(1) ? 2 : 0;
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (!continuation(1) || !continuation(2)) return 0;
    if (b0 == 0xE0 && byte(1) < 0xA0) return 0;   // overlong
    if (b0 == 0xED && byte(1) >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (!continuation(1) || !continuation(2) || !continuation(3)) return 0;
    if (b0 == 0xF0 && byte(1) < 0x90) return 0;   // overlong
    if (b0 == 0xF4 && byte(1) >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;  // 0x80..0xC1 (continuation or overlong lead) and 0xF5..0xFF
}

bool is_valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    size_t n = utf8_sequence_length(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

void append_utf8(std::string& out, uint32_t code_point) {
  if (code_point < 0x80) {
    out += static_cast<char>(code_point);
  } else if (code_point < 0x800) {
    out += static_cast<char>(0xC0 | (code_point >> 6));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else if (code_point < 0x10000) {
    out += static_cast<char>(0xE0 | (code_point >> 12));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code_point >> 18));
    out += static_cast<char>(0x80 | ((code_point >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  }
}

// ---------------------------------------------------------------------------------------------
// A minimal strict JSON parser (RFC 8259): no comments, no trailing commas, no duplicate keys,
// strings must be valid UTF-8, nesting limited to kMaxJsonDepth.
// ---------------------------------------------------------------------------------------------

struct JsonMember;

struct Json {
  enum class Kind { Null, Bool, Number, String, Array, Object };
  Kind kind = Kind::Null;
  bool boolean = false;
  std::string text;                  // String: decoded; Number: as written
  std::vector<Json> items;           // Array
  std::vector<JsonMember> members;  // Object, in file order
};

// A key and its value. (Not a std::pair<std::string, Json>: clang 14 with libstdc++ 12 cannot build that pair
// while Json is still incomplete.)
struct JsonMember {
  std::string key;
  Json value;
};

const char* kind_name(Json::Kind kind) {
  switch (kind) {
    case Json::Kind::Null: return "null";
    case Json::Kind::Bool: return "a boolean";
    case Json::Kind::Number: return "a number";
    case Json::Kind::String: return "a string";
    case Json::Kind::Array: return "an array";
    case Json::Kind::Object: return "an object";
  }
  return "?";
}

class JsonParser {
 public:
  explicit JsonParser(std::string_view text) : s_(text) {}

  // One value, surrounded by nothing but whitespace.
  Json parse_document() {
    skip_whitespace();
    Json value = parse_value(0);
    skip_whitespace();
    if (pos_ != s_.size()) fail("unexpected text after the JSON value");
    return value;
  }

 private:
  std::string_view s_;
  size_t pos_ = 0;

  [[noreturn]] void fail(const std::string& what) const {
    throw FormatError(fmt::format("header is not valid JSON: {} at byte {} of the header", what, pos_));
  }
  bool at_end() const { return pos_ >= s_.size(); }
  char peek() const { return at_end() ? '\0' : s_[pos_]; }
  void expect(char c) {
    if (peek() != c) fail(fmt::format("expected '{}'", c));
    ++pos_;
  }
  void skip_whitespace() {
    while (!at_end() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }

  Json parse_value(int depth) {
    if (depth > kMaxJsonDepth) fail(fmt::format("nested deeper than {} levels", kMaxJsonDepth));
    if (at_end()) fail("unexpected end, expected a value");
    Json v;
    char c = peek();
    if (c == '{') {
      v.kind = Json::Kind::Object;
      parse_object(v, depth);
    } else if (c == '[') {
      v.kind = Json::Kind::Array;
      parse_array(v, depth);
    } else if (c == '"') {
      v.kind = Json::Kind::String;
      v.text = parse_string();
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      v.kind = Json::Kind::Number;
      v.text = parse_number();
    } else if (s_.substr(pos_, 4) == "true" || s_.substr(pos_, 5) == "false") {
      v.kind = Json::Kind::Bool;
      v.boolean = c == 't';
      pos_ += v.boolean ? 4 : 5;
    } else if (s_.substr(pos_, 4) == "null") {
      pos_ += 4;
    } else {
      fail("unexpected character, expected a value");
    }
    return v;
  }

  void parse_object(Json& v, int depth) {
    expect('{');
    skip_whitespace();
    if (peek() == '}') { ++pos_; return; }
    std::set<std::string> keys;
    while (true) {
      skip_whitespace();
      if (peek() != '"') fail("expected a string key");
      std::string key = parse_string();
      if (!keys.insert(key).second) fail(fmt::format("duplicate key \"{}\"", key));
      skip_whitespace();
      expect(':');
      skip_whitespace();
      Json value = parse_value(depth + 1);
      v.members.push_back({std::move(key), std::move(value)});
      skip_whitespace();
      if (peek() == ',') { ++pos_; continue; }
      expect('}');
      return;
    }
  }

  void parse_array(Json& v, int depth) {
    expect('[');
    skip_whitespace();
    if (peek() == ']') { ++pos_; return; }
    while (true) {
      skip_whitespace();
      v.items.push_back(parse_value(depth + 1));
      skip_whitespace();
      if (peek() == ',') { ++pos_; continue; }
      expect(']');
      return;
    }
  }

  // -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, kept as text: the schema decides what it accepts.
  std::string parse_number() {
    size_t start = pos_;
    auto digits = [&] {
      size_t from = pos_;
      while (!at_end() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
      return pos_ - from;
    };
    if (peek() == '-') ++pos_;
    if (peek() == '0') {
      ++pos_;
    } else if (digits() == 0) {
      fail("malformed number");
    }
    if (peek() == '.') {
      ++pos_;
      if (digits() == 0) fail("malformed number");
    }
    if (peek() == 'e' || peek() == 'E') {
      ++pos_;
      if (peek() == '+' || peek() == '-') ++pos_;
      if (digits() == 0) fail("malformed number");
    }
    return std::string(s_.substr(start, pos_ - start));
  }

  uint32_t parse_hex4() {
    if (pos_ + 4 > s_.size()) fail("truncated \\u escape");
    uint32_t value = 0;
    for (int k = 0; k < 4; ++k) {
      char c = s_[pos_++];
      int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (digit < 0) fail("bad hex digit in \\u escape");
      value = value * 16 + static_cast<uint32_t>(digit);
    }
    return value;
  }

  std::string parse_string() {
    expect('"');
    std::string out;
    while (true) {
      if (at_end()) fail("unterminated string");
      auto c = static_cast<uint8_t>(s_[pos_]);
      if (c == '"') { ++pos_; return out; }
      if (c < 0x20) fail("control character in a string (must be escaped)");
      if (c >= 0x80) {
        size_t n = utf8_sequence_length(s_, pos_);
        if (n == 0) fail("invalid UTF-8 in a string");
        out.append(s_.substr(pos_, n));
        pos_ += n;
        continue;
      }
      ++pos_;
      if (c != '\\') { out += static_cast<char>(c); continue; }
      if (at_end()) fail("unterminated escape");
      char e = s_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          // Characters beyond U+FFFF come as a UTF-16 surrogate pair: \uD83D\uDE00 is U+1F600.
          uint32_t cp = parse_hex4();
          if (cp >= 0xDC00 && cp <= 0xDFFF) fail("unpaired low surrogate in \\u escape");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (s_.substr(pos_, 2) != "\\u") fail("unpaired high surrogate in \\u escape");
            pos_ += 2;
            uint32_t low = parse_hex4();
            if (low < 0xDC00 || low > 0xDFFF) fail("unpaired high surrogate in \\u escape");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          append_utf8(out, cp);
          break;
        }
        default: fail(fmt::format("unknown escape \\{}", e));
      }
    }
  }
};

// ---------------------------------------------------------------------------------------------
// JSON writing
// ---------------------------------------------------------------------------------------------

// `s` must be valid UTF-8; non-ASCII characters are written as they are (JSON text is UTF-8).
void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (char ch : s) {
    auto c = static_cast<uint8_t>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) out += fmt::format("\\u{:04x}", c);
        else out += ch;
    }
  }
  out += '"';
}

// ---------------------------------------------------------------------------------------------
// dtypes
// ---------------------------------------------------------------------------------------------

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8, BOOL };

struct DTypeInfo {
  DType dtype;
  std::string_view name;
  int64_t size;  // bytes per element
};

constexpr DTypeInfo kDTypes[] = {
    {DType::F64, "F64", 8}, {DType::F32, "F32", 4}, {DType::F16, "F16", 2}, {DType::BF16, "BF16", 2},
    {DType::I64, "I64", 8}, {DType::I32, "I32", 4}, {DType::I16, "I16", 2}, {DType::I8, "I8", 1},
    {DType::U64, "U64", 8}, {DType::U32, "U32", 4}, {DType::U16, "U16", 2}, {DType::U8, "U8", 1},
    {DType::BOOL, "BOOL", 1},
};

const DTypeInfo* find_dtype(std::string_view name) {
  for (const DTypeInfo& info : kDTypes)
    if (info.name == name) return &info;
  return nullptr;
}

template <typename T>
T load_le(const uint8_t* p) {
  T value;
  std::memcpy(&value, p, sizeof(T));
  return value;
}

// IEEE half: 1 sign bit, 5 exponent bits (bias 15), 10 mantissa bits.
float half_to_float(uint16_t h) {
  int exponent = (h >> 10) & 0x1F;
  int mantissa = h & 0x3FF;
  float magnitude;
  if (exponent == 0) magnitude = std::ldexp(static_cast<float>(mantissa), -24);  // zero or subnormal
  else if (exponent == 31) magnitude = mantissa ? NAN : INFINITY;
  else magnitude = std::ldexp(static_cast<float>(mantissa + 1024), exponent - 25);
  return (h & 0x8000) ? -magnitude : magnitude;
}

// bfloat16 is the top half of a float32.
float bfloat16_to_float(uint16_t b) { return std::bit_cast<float>(static_cast<uint32_t>(b) << 16); }

// n elements of `dtype` at src -> n floats at dst.
void convert_to_float(const DTypeInfo& dtype, const uint8_t* src, int64_t n, float* dst, const std::string& name) {
  const int64_t size = dtype.size;
  if (dtype.dtype == DType::F32) {
    if (n > 0) std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* p = src + i * size;
    switch (dtype.dtype) {
      case DType::F64: dst[i] = static_cast<float>(load_le<double>(p)); break;
      case DType::F32: dst[i] = load_le<float>(p); break;
      case DType::F16: dst[i] = half_to_float(load_le<uint16_t>(p)); break;
      case DType::BF16: dst[i] = bfloat16_to_float(load_le<uint16_t>(p)); break;
      case DType::I64: dst[i] = static_cast<float>(load_le<int64_t>(p)); break;
      case DType::I32: dst[i] = static_cast<float>(load_le<int32_t>(p)); break;
      case DType::I16: dst[i] = static_cast<float>(load_le<int16_t>(p)); break;
      case DType::I8: dst[i] = static_cast<float>(load_le<int8_t>(p)); break;
      case DType::U64: dst[i] = static_cast<float>(load_le<uint64_t>(p)); break;
      case DType::U32: dst[i] = static_cast<float>(load_le<uint32_t>(p)); break;
      case DType::U16: dst[i] = static_cast<float>(load_le<uint16_t>(p)); break;
      case DType::U8: dst[i] = static_cast<float>(*p); break;
      case DType::BOOL:
        if (*p > 1) throw FormatError(fmt::format("tensor \"{}\": BOOL element {} is byte {}, expected 0 or 1", name, i, *p));
        dst[i] = static_cast<float>(*p);
        break;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The header's schema
// ---------------------------------------------------------------------------------------------

struct Entry {
  std::string name;
  const DTypeInfo* dtype = nullptr;
  Shape shape;
  int64_t numel = 0;
  uint64_t begin = 0, end = 0;  // bytes of the data buffer
};

// A JSON number that is a non-negative integer small enough for int64 (shapes and offsets).
uint64_t to_count(const Json& v, const std::string& where) {
  if (v.kind != Json::Kind::Number)
    throw FormatError(fmt::format("{} is {}, expected a non-negative integer", where, kind_name(v.kind)));
  if (v.text[0] == '-')
    throw FormatError(fmt::format("{} is {}, expected a non-negative integer", where, v.text));
  if (v.text.find_first_of(".eE") != std::string::npos)
    throw FormatError(fmt::format("{} is {}, expected an integer", where, v.text));
  uint64_t value = 0;
  for (char c : v.text) {
    if (__builtin_mul_overflow(value, 10, &value) || __builtin_add_overflow(value, c - '0', &value) ||
        value > static_cast<uint64_t>(INT64_MAX))
      throw FormatError(fmt::format("{} is {}, too large", where, v.text));
  }
  return value;
}

const Json* find_member(const Json& object, std::string_view key) {
  for (const auto& [k, v] : object.members)
    if (k == key) return &v;
  return nullptr;
}

Entry parse_entry(const std::string& name, const Json& info, uint64_t data_size) {
  Entry e;
  e.name = name;
  const std::string what = fmt::format("tensor \"{}\"", name);
  if (info.kind != Json::Kind::Object)
    throw FormatError(fmt::format("{} is {}, expected an object with dtype, shape and data_offsets", what,
                                  kind_name(info.kind)));
  for (const auto& [key, value] : info.members)
    if (key != "dtype" && key != "shape" && key != "data_offsets")
      throw FormatError(fmt::format("{} has an unknown key \"{}\"", what, key));
  const Json* dtype = find_member(info, "dtype");
  const Json* shape = find_member(info, "shape");
  const Json* offsets = find_member(info, "data_offsets");
  if (!dtype) throw FormatError(what + " has no \"dtype\"");
  if (!shape) throw FormatError(what + " has no \"shape\"");
  if (!offsets) throw FormatError(what + " has no \"data_offsets\"");

  if (dtype->kind != Json::Kind::String)
    throw FormatError(fmt::format("{}: dtype is {}, expected a string such as \"F32\"", what, kind_name(dtype->kind)));
  e.dtype = find_dtype(dtype->text);
  if (!e.dtype)
    throw FormatError(fmt::format("{}: unknown or unsupported dtype \"{}\" (hundun reads F64, F32, F16, BF16, "
                                  "I64, I32, I16, I8, U64, U32, U16, U8, BOOL)", what, dtype->text));

  if (shape->kind != Json::Kind::Array)
    throw FormatError(fmt::format("{}: shape is {}, expected an array of sizes", what, kind_name(shape->kind)));
  e.numel = 1;
  for (size_t i = 0; i < shape->items.size(); ++i) {
    auto size = static_cast<int64_t>(to_count(shape->items[i], fmt::format("{}: shape[{}]", what, i)));
    e.shape.push_back(size);
    // Multiplied in order, as shape_numel does, so no accepted shape overflows it.
    if (__builtin_mul_overflow(e.numel, size, &e.numel))
      throw FormatError(fmt::format("{}: shape has too many elements (overflow)", what));
  }
  int64_t nbytes;
  if (__builtin_mul_overflow(e.numel, e.dtype->size, &nbytes))
    throw FormatError(fmt::format("{}: shape has too many elements (overflow)", what));
  // The rule of the Tensor it becomes (tensor.h, kMaxNumel): at most 2^60 elements counting an empty axis as 1, so
  // that [0, 2^62, 2^62] is refused here, naming the file, and not by the Tensor constructor.
  int64_t nonzero_product = 1;
  for (int64_t size : e.shape)
    if (size > 0 && (size > kMaxNumel || nonzero_product > kMaxNumel / size))
      throw FormatError(fmt::format("{}: shape {} is too large (more than 2^60 elements, counting an empty axis as 1)",
                                    what, shape_str(e.shape)));
    else if (size > 0)
      nonzero_product *= size;

  if (offsets->kind != Json::Kind::Array || offsets->items.size() != 2)
    throw FormatError(fmt::format("{}: data_offsets must be an array [begin, end]", what));
  e.begin = to_count(offsets->items[0], what + ": data_offsets[0]");
  e.end = to_count(offsets->items[1], what + ": data_offsets[1]");
  if (e.begin > e.end)
    throw FormatError(fmt::format("{}: data_offsets [{}, {}] end before they begin", what, e.begin, e.end));
  if (e.end > data_size)
    throw FormatError(fmt::format("{}: data_offsets [{}, {}] run past the end of the data buffer ({} bytes)", what,
                                  e.begin, e.end, data_size));
  if (e.end - e.begin != static_cast<uint64_t>(nbytes))
    throw FormatError(fmt::format("{}: data_offsets [{}, {}] hold {} bytes, but {} {} needs {}", what, e.begin,
                                  e.end, e.end - e.begin, e.dtype->name, shape_str(e.shape), nbytes));
  return e;
}

std::map<std::string, std::string> parse_metadata(const Json& v) {
  if (v.kind != Json::Kind::Object)
    throw FormatError(fmt::format("__metadata__ is {}, expected an object of strings", kind_name(v.kind)));
  std::map<std::string, std::string> metadata;
  for (const auto& [key, value] : v.members) {
    if (value.kind != Json::Kind::String)
      throw FormatError(fmt::format("__metadata__ \"{}\" is {}, expected a string", key, kind_name(value.kind)));
    metadata[key] = value.text;
  }
  return metadata;
}

// The tensors must tile the data buffer: sorted by offset, each starts where the previous ended,
// and the last ends at the end of the buffer.
void check_tiling(const std::vector<Entry>& entries, uint64_t data_size) {
  std::vector<const Entry*> order;
  for (const Entry& e : entries) order.push_back(&e);
  std::sort(order.begin(), order.end(),
            [](const Entry* a, const Entry* b) { return std::pair(a->begin, a->end) < std::pair(b->begin, b->end); });
  uint64_t covered = 0;
  const Entry* previous = nullptr;
  for (const Entry* e : order) {
    if (e->begin < covered)
      throw FormatError(fmt::format("tensors \"{}\" [{}, {}) and \"{}\" [{}, {}) overlap", previous->name,
                                    previous->begin, previous->end, e->name, e->begin, e->end));
    if (e->begin > covered)
      throw FormatError(fmt::format("bytes [{}, {}) of the data buffer belong to no tensor", covered, e->begin));
    covered = e->end;
    previous = e;
  }
  if (covered < data_size)
    throw FormatError(fmt::format("bytes [{}, {}) of the data buffer belong to no tensor", covered, data_size));
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

// The 8-byte length and the padded JSON header; the F32 data of the tensors, in name order, follows.
std::string header_with_length(const TensorFile& file) {
  for (const auto& [key, value] : file.metadata)
    if (!is_valid_utf8(key) || !is_valid_utf8(value))
      throw std::invalid_argument(fmt::format("serialize_safetensors: metadata \"{}\" is not valid UTF-8", key));

  std::string json = "{";
  if (!file.metadata.empty()) {
    json += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [key, value] : file.metadata) {
      if (!first) json += ',';
      first = false;
      append_json_string(json, key);
      json += ':';
      append_json_string(json, value);
    }
    json += '}';
  }
  int64_t offset = 0;
  for (const auto& [name, tensor] : file.tensors) {
    if (!tensor.defined())
      throw std::invalid_argument(fmt::format("serialize_safetensors: tensor \"{}\" is undefined", name));
    if (name == "__metadata__")
      throw std::invalid_argument("serialize_safetensors: \"__metadata__\" is reserved and cannot name a tensor");
    if (!is_valid_utf8(name))
      throw std::invalid_argument(fmt::format("serialize_safetensors: tensor name \"{}\" is not valid UTF-8", name));
    int64_t nbytes = tensor.numel() * static_cast<int64_t>(sizeof(float));
    if (json.size() > 1) json += ',';
    append_json_string(json, name);
    std::string shape;
    for (int64_t size : tensor.shape()) {
      if (!shape.empty()) shape += ',';
      shape += std::to_string(size);
    }
    json += fmt::format(":{{\"dtype\":\"F32\",\"shape\":[{}],\"data_offsets\":[{},{}]}}", shape, offset,
                        offset + nbytes);
    offset += nbytes;
  }
  json += '}';
  // Spaces up to a multiple of 8, so the data starts 8-byte aligned in the file (and in a mapping of it).
  json.append((8 - json.size() % 8) % 8, ' ');

  uint64_t n = json.size();
  std::string out(8, '\0');
  std::memcpy(out.data(), &n, 8);
  return out + json;
}

std::atomic<int64_t> g_write_fault_after{-1};

std::runtime_error io_error(const std::string& path, const std::string& what, int err) {
  return std::runtime_error(fmt::format("{}: {}: {}", path, what, std::strerror(err)));
}

// Writes all `n` bytes (write() may write fewer, or be interrupted). `written` counts the file's bytes
// so far, for the test-only fault that fails the write after `fail_after` of them.
void write_all(int fd, const void* data, size_t n, int64_t& written, int64_t fail_after, const std::string& path) {
  auto p = static_cast<const char*>(data);
  if (fail_after >= 0 && written + static_cast<int64_t>(n) > fail_after) {
    n = static_cast<size_t>(fail_after - written);
    write_all(fd, p, n, written, -1, path);
    throw std::runtime_error(fmt::format("{}: write failed: simulated fault after {} bytes (testing)", path, fail_after));
  }
  while (n > 0) {
    ssize_t k = ::write(fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) throw io_error(path, "write failed", errno);
    p += k;
    n -= static_cast<size_t>(k);
    written += k;
  }
}

// Makes the rename itself durable: the folder's entry is data too.
void fsync_folder(const std::string& path) {
  std::filesystem::path folder = std::filesystem::path(path).parent_path();
  if (folder.empty()) folder = std::filesystem::current_path();
  int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw io_error(path, "cannot open its folder to fsync it", errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) throw io_error(path, "fsync of its folder failed", err);
}

}  // namespace

namespace test_hooks {
void set_safetensors_write_fault_for_testing(int64_t fail_after_bytes) { g_write_fault_after = fail_after_bytes; }
}  // namespace test_hooks

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

// The checks the first 9 bytes allow, made by load_safetensors before it reads the rest of a file (a 1 GB file
// of zeros is refused after 9 bytes, not read whole) and again by the parser.
static void check_header_start(uint64_t header_size, uint64_t file_size, uint8_t first_header_byte) {
  if (header_size > kMaxHeaderBytes)
    throw FormatError(fmt::format("header length {} is absurd (more than {} bytes)", header_size, kMaxHeaderBytes));
  if (header_size > file_size - 8)
    throw FormatError(fmt::format("header length {} runs past the end of the file ({} bytes after the length)",
                                  header_size, file_size - 8));
  // As the reference reader: the header is an object from its first byte on.
  if (header_size == 0 || first_header_byte != '{') throw FormatError("header does not start with '{'");
}

TensorFile parse_safetensors(const std::vector<uint8_t>& bytes, const std::string& what) {
  try {
    if (bytes.size() < 8)
      throw FormatError(fmt::format("file is {} bytes long, too short for the 8-byte header length", bytes.size()));
    const auto header_size = load_le<uint64_t>(bytes.data());
    check_header_start(header_size, bytes.size(), bytes.size() > 8 ? bytes[8] : 0);
    std::string_view header(reinterpret_cast<const char*>(bytes.data()) + 8, header_size);
    Json root = JsonParser(header).parse_document();

    const uint8_t* data = bytes.data() + 8 + header_size;
    const uint64_t data_size = bytes.size() - 8 - header_size;
    TensorFile file;
    std::vector<Entry> entries;
    for (const auto& [name, value] : root.members) {
      if (name == "__metadata__") file.metadata = parse_metadata(value);
      else entries.push_back(parse_entry(name, value, data_size));
    }
    check_tiling(entries, data_size);

    for (const Entry& e : entries) {
      Tensor t(e.shape);
      convert_to_float(*e.dtype, data + e.begin, e.numel, t.data(), e.name);
      file.tensors.emplace(e.name, t);
    }
    return file;
  } catch (const FormatError& error) {
    throw std::runtime_error(what + ": " + error.what());
  }
}

std::vector<uint8_t> serialize_safetensors(const TensorFile& file) {
  std::string head = header_with_length(file);
  std::vector<uint8_t> out(head.begin(), head.end());
  for (const auto& [name, tensor] : file.tensors) {
    auto p = reinterpret_cast<const uint8_t*>(tensor.data());
    out.insert(out.end(), p, p + tensor.numel() * sizeof(float));
  }
  return out;
}

void remove_stale_temporary_files(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  const std::string prefix = target.filename().string() + ".tmp-";
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    // mkostemp's names: the prefix and exactly six characters.
    if (name.size() == prefix.size() + 6 && name.compare(0, prefix.size(), prefix) == 0 &&
        entry.is_regular_file(ec))
      fs::remove(entry.path(), ec);
  }
}

void save_safetensors(const std::string& path, const TensorFile& file) {
  const std::string head = header_with_length(file);  // may throw invalid_argument: nothing written yet
  remove_stale_temporary_files(path);
  const int64_t fail_after = g_write_fault_after.exchange(-1);

  std::string tmp = path + ".tmp-XXXXXX";
  int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) throw io_error(path, "cannot create a temporary file beside it", errno);
  try {
    // mkostemp makes the file private (0600); a checkpoint is an ordinary file.
    if (::fchmod(fd, 0644) != 0) throw io_error(path, "fchmod of the temporary file failed", errno);
    int64_t written = 0;
    write_all(fd, head.data(), head.size(), written, fail_after, path);
    for (const auto& [name, tensor] : file.tensors)
      write_all(fd, tensor.data(), static_cast<size_t>(tensor.numel()) * sizeof(float), written, fail_after, path);
    if (::fsync(fd) != 0) throw io_error(path, "fsync failed", errno);
    int rc = ::close(fd);
    fd = -1;
    if (rc != 0) throw io_error(path, "close failed", errno);
    if (::rename(tmp.c_str(), path.c_str()) != 0) throw io_error(path, "cannot rename the temporary file over it", errno);
  } catch (...) {
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  fsync_folder(path);
}

TensorFile load_safetensors(const std::string& path) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait forever for a writer; the fstat below then
  // refuses it. (For a regular file the flag changes nothing.)
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) throw io_error(path, "cannot open", errno);
  std::vector<uint8_t> bytes;
  try {
    struct stat st;
    if (::fstat(fd, &st) != 0) throw io_error(path, "cannot stat", errno);
    if (!S_ISREG(st.st_mode))
      throw std::runtime_error(path + ": not a regular file (a FIFO, device or folder cannot be a safetensors file)");
    const uint64_t size = static_cast<uint64_t>(st.st_size);
    if (size >= 9) {  // the header's length and first byte, before reading (and allocating) the whole file
      uint8_t start[9];
      if (::pread(fd, start, 9, 0) != 9) throw io_error(path, "read failed", errno);
      try {
        check_header_start(load_le<uint64_t>(start), size, start[8]);
      } catch (const FormatError& e) {
        throw std::runtime_error(fmt::format("{}: {}", path, e.what()));
      }
    }
    try {
      bytes.resize(static_cast<size_t>(size));
    } catch (const std::bad_alloc&) {
      throw std::runtime_error(fmt::format("{}: {} bytes are more than this machine can hold in memory", path, size));
    }
    size_t got = 0;
    while (got < bytes.size()) {
      ssize_t k = ::read(fd, bytes.data() + got, bytes.size() - got);
      if (k < 0 && errno == EINTR) continue;
      if (k < 0) throw io_error(path, "read failed", errno);
      if (k == 0) throw std::runtime_error(fmt::format("{}: file shrank while being read", path));
      got += static_cast<size_t>(k);
    }
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  return parse_safetensors(bytes, path);
}

}  // namespace hd
