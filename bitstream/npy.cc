// NumPy .npy reading and writing.
//
// READ ME FIRST
// - The header is a Python dict literal ("{'descr': '<f4', 'fortran_order': False, 'shape': (2,
//   3), }"). NumPy reads it with ast.literal_eval, so hand-written or old files may differ from
//   what NumPy writes today: keys in any order, other whitespace, double quotes, no trailing
//   comma, Python 2 long literals ("3L"). We parse a small subset of Python literals (strings,
//   ints, True/False/None, tuples, lists) with a real tokenizer instead of matching text.
// - Every length is checked against the bytes we have before it is used, and the element count
//   against NpyLimits before anything is allocated: the allocation is never larger than the file.
// - The writer matches NumPy's own output byte for byte (numpy/lib/format.py, NumPy >= 1.23):
//   keys sorted, repr() of the values, then GROWTH_AXIS_MAX_DIGITS (21) minus the digits of the
//   first dimension in spaces, then spaces up to a multiple of 64 bytes and a final '\n'. The
//   alignment padding is never empty: an already aligned header still gets 64 more spaces.
#include "ftcodec/npy.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "base/byte_io.h"
#include "base/status_macros.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "npy.cc assumes a little-endian host (tensor memory is written as '<' data)"
#endif

namespace ftc {
namespace {

constexpr uint8_t kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
constexpr size_t kMagicLen = 6;
constexpr size_t kArrayAlign = 64;        // numpy.lib.format.ARRAY_ALIGN
constexpr size_t kGrowthAxisDigits = 21;  // numpy.lib.format.GROWTH_AXIS_MAX_DIGITS
constexpr int kMaxNesting = 16;           // brackets deeper than this are refused, not recursed

// ---- A tiny Python literal parser ----------------------------------------------------------

struct PyValue {
  enum class Kind { kString, kInt, kBool, kNone, kTuple, kList };
  Kind kind = Kind::kNone;
  std::string str;      // kString
  int64_t integer = 0;  // kInt (valid when !int_overflow)
  bool int_overflow = false;
  bool boolean = false;        // kBool
  std::vector<PyValue> items;  // kTuple, kList
};

const char* KindName(PyValue::Kind k) {
  switch (k) {
    case PyValue::Kind::kString:
      return "a string";
    case PyValue::Kind::kInt:
      return "an integer";
    case PyValue::Kind::kBool:
      return "a bool";
    case PyValue::Kind::kNone:
      return "None";
    case PyValue::Kind::kTuple:
      return "a tuple";
    case PyValue::Kind::kList:
      return "a list";
  }
  return "?";
}

class LiteralParser {
 public:
  LiteralParser(const char* p, size_t n) : begin_(p), p_(p), end_(p + n) {}

  // Parses the whole header: one dict literal, then only whitespace.
  Status ParseDict(std::vector<std::pair<std::string, PyValue>>* out) {
    SkipSpace();
    if (!Consume('{')) return Error("expected '{'");
    for (;;) {
      SkipSpace();
      if (Consume('}')) break;
      PyValue key;
      FTC_RETURN_IF_ERROR(ParseValue(&key, 1));
      if (key.kind != PyValue::Kind::kString) {
        return FTC_CORRUPT("npy: header dict key is %s, expected a string", KindName(key.kind));
      }
      SkipSpace();
      if (!Consume(':')) return Error("expected ':'");
      PyValue value;
      FTC_RETURN_IF_ERROR(ParseValue(&value, 1));
      out->emplace_back(std::move(key.str), std::move(value));
      SkipSpace();
      if (Consume(',')) continue;
      if (Consume('}')) break;
      return Error("expected ',' or '}'");
    }
    SkipSpace();
    if (p_ != end_) return Error("unexpected text after the dict");
    return Status::Ok();
  }

 private:
  Status Error(const char* what) const {
    if (p_ == end_)
      return FTC_CORRUPT("npy: header is not a valid dict literal: %s at its end", what);
    const unsigned char c = static_cast<unsigned char>(*p_);
    if (c >= 0x20 && c < 0x7F) {
      return FTC_CORRUPT("npy: header is not a valid dict literal: %s at offset %zu (found '%c')",
                         what, static_cast<size_t>(p_ - begin_), c);
    }
    return FTC_CORRUPT("npy: header is not a valid dict literal: %s at offset %zu (found 0x%02x)",
                       what, static_cast<size_t>(p_ - begin_), c);
  }

  void SkipSpace() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r' || *p_ == '\f' ||
                          *p_ == '\v')) {
      ++p_;
    }
  }
  bool Consume(char c) {
    if (p_ != end_ && *p_ == c) {
      ++p_;
      return true;
    }
    return false;
  }
  bool ConsumeWord(const char* word) {
    const size_t n = std::strlen(word);
    if (static_cast<size_t>(end_ - p_) < n || std::memcmp(p_, word, n) != 0) return false;
    // A word must not run on into an identifier ("Truex").
    if (static_cast<size_t>(end_ - p_) > n) {
      const char c = p_[n];
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_') {
        return false;
      }
    }
    p_ += n;
    return true;
  }

  Status ParseValue(PyValue* v, int depth) {
    SkipSpace();
    if (p_ == end_) return Error("expected a value");
    const char c = *p_;
    if (c == '\'' || c == '"') return ParseString(v);
    if (c == '-' || c == '+' || (c >= '0' && c <= '9')) return ParseInt(v);
    if (c == '(' || c == '[') return ParseSequence(v, depth);
    if (ConsumeWord("True")) {
      v->kind = PyValue::Kind::kBool;
      v->boolean = true;
      return Status::Ok();
    }
    if (ConsumeWord("False")) {
      v->kind = PyValue::Kind::kBool;
      v->boolean = false;
      return Status::Ok();
    }
    if (ConsumeWord("None")) {
      v->kind = PyValue::Kind::kNone;
      return Status::Ok();
    }
    return Error("expected a value");
  }

  Status ParseString(PyValue* v) {
    const char quote = *p_++;
    v->kind = PyValue::Kind::kString;
    while (p_ != end_ && *p_ != quote) {
      if (*p_ == '\n') return Error("newline inside a string");
      if (*p_ == '\\') {  // keep the escaped character; dtype strings never need more
        ++p_;
        if (p_ == end_) break;
      }
      v->str.push_back(*p_++);
    }
    if (!Consume(quote)) return Error("unterminated string");
    return Status::Ok();
  }

  Status ParseInt(PyValue* v) {
    v->kind = PyValue::Kind::kInt;
    bool negative = false;
    while (p_ != end_ && (*p_ == '-' || *p_ == '+')) {  // Python allows "--3" and "+-3"
      if (*p_ == '-') negative = !negative;
      ++p_;
      SkipSpace();
    }
    if (p_ == end_ || *p_ < '0' || *p_ > '9') return Error("expected digits");
    // Accumulate the magnitude as a negative number so INT64_MIN fits too.
    int64_t acc = 0;
    while (p_ != end_ && *p_ >= '0' && *p_ <= '9') {
      const int digit = *p_++ - '0';
      if (acc < (std::numeric_limits<int64_t>::min() + digit) / 10) v->int_overflow = true;
      if (!v->int_overflow) acc = acc * 10 - digit;
    }
    Consume('L');  // Python 2 long, which old NumPy wrote into shapes
    if (!negative) {
      if (acc == std::numeric_limits<int64_t>::min()) v->int_overflow = true;
      v->integer = v->int_overflow ? 0 : -acc;
    } else {
      v->integer = v->int_overflow ? 0 : acc;
    }
    // A negative value that overflows is still reported as negative.
    if (v->int_overflow && negative) v->integer = -1;
    return Status::Ok();
  }

  Status ParseSequence(PyValue* v, int depth) {
    if (depth >= kMaxNesting) return Error("brackets nested too deeply");
    const char open = *p_++;
    const char close = open == '(' ? ')' : ']';
    v->kind = open == '(' ? PyValue::Kind::kTuple : PyValue::Kind::kList;
    bool saw_comma = false;
    for (;;) {
      SkipSpace();
      if (Consume(close)) break;
      PyValue item;
      FTC_RETURN_IF_ERROR(ParseValue(&item, depth + 1));
      v->items.push_back(std::move(item));
      SkipSpace();
      if (Consume(',')) {
        saw_comma = true;
        continue;
      }
      if (Consume(close)) break;
      return Error(close == ')' ? "expected ',' or ')'" : "expected ',' or ']'");
    }
    // "(3)" is just the integer 3 in Python, not a tuple.
    if (v->kind == PyValue::Kind::kTuple && v->items.size() == 1 && !saw_comma) {
      PyValue inner = std::move(v->items[0]);
      *v = std::move(inner);
    }
    return Status::Ok();
  }

  const char* begin_;
  const char* p_;
  const char* end_;
};

// A header string as it may appear in an error message: non-printable bytes escaped, and cut
// short, since a hostile header can hold a megabyte of it.
std::string ForMessage(const std::string& s) {
  constexpr size_t kMaxShown = 40;
  std::string out;
  for (size_t i = 0; i < s.size() && i < kMaxShown; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    out += c >= 0x20 && c < 0x7F ? std::string(1, static_cast<char>(c)) : StrFormat("\\x%02x", c);
  }
  if (s.size() > kMaxShown) out += "...";
  return out;
}

// ---- dtype ----------------------------------------------------------------------------------

// kInt / kUInt (any item size) only where integers are asked for (ReadNpyIntegers).
enum class NpyType { kF16, kF32, kF64, kU8, kInt, kUInt };

struct NpyDType {
  NpyType type = NpyType::kF32;
  bool big_endian = false;
  size_t item_size = 4;
};

// `integers`: also accept the integer dtypes i1..i8 and u1..u8 (ReadNpyIntegers).
Status ParseDescr(const PyValue& descr, bool integers, NpyDType* out) {
  if (descr.kind == PyValue::Kind::kList) {
    return FTC_UNSUPPORTED(
        "npy: structured dtypes (a list of fields in 'descr') are not supported");
  }
  if (descr.kind != PyValue::Kind::kString) {
    return FTC_CORRUPT("npy: 'descr' is %s, expected a dtype string", KindName(descr.kind));
  }
  const std::string& s = descr.str;
  const std::string printable = ForMessage(s);
  const char* name = printable.c_str();
  size_t i = 0;
  char order = '|';
  if (i < s.size() && (s[i] == '<' || s[i] == '>' || s[i] == '|' || s[i] == '=')) order = s[i++];
  if (i >= s.size()) return FTC_UNSUPPORTED("npy: unsupported dtype '%s'", name);
  const char kind = s[i++];
  // Item size: the digits after the kind (datetime units etc. may follow them).
  const std::string rest = s.substr(i);
  const std::string size_digits = rest.substr(0, rest.find_first_not_of("0123456789"));
  const bool exact = !size_digits.empty() && size_digits.size() == rest.size();
  switch (kind) {
    case 'f':
      if (!exact || (size_digits != "2" && size_digits != "4" && size_digits != "8")) {
        return FTC_UNSUPPORTED("npy: unsupported dtype '%s' (floats must be f2, f4 or f8)", name);
      }
      out->item_size = static_cast<size_t>(size_digits[0] - '0');
      out->type = out->item_size == 2   ? NpyType::kF16
                  : out->item_size == 4 ? NpyType::kF32
                                        : NpyType::kF64;
      out->big_endian = order == '>';  // '<', '|', '=' and no prefix: native, little-endian
      return Status::Ok();
    case 'u':
    case 'i':
      if (integers) {
        if (!exact || (size_digits != "1" && size_digits != "2" && size_digits != "4" &&
                       size_digits != "8")) {
          return FTC_UNSUPPORTED(
              "npy: unsupported dtype '%s' (integers must be 1, 2, 4 or 8 bytes)", name);
        }
        out->item_size = static_cast<size_t>(size_digits[0] - '0');
        out->type = kind == 'i' ? NpyType::kInt : NpyType::kUInt;
        out->big_endian = order == '>';
        return Status::Ok();
      }
      if (kind == 'u' && exact && size_digits == "1") {
        *out = {NpyType::kU8, false, 1};
        return Status::Ok();
      }
      return FTC_UNSUPPORTED("npy: unsupported dtype '%s' (the only integer dtype is u1)", name);
    case 'c':
      return FTC_UNSUPPORTED("npy: unsupported dtype '%s' (complex)", name);
    case 'b':
    case '?':
      return FTC_UNSUPPORTED("npy: unsupported dtype '%s' (bool)", name);
    case 'O':
      return FTC_UNSUPPORTED("npy: dtype '%s' (object arrays) is not supported", name);
    case 'S':
    case 'a':
      return FTC_UNSUPPORTED("npy: unsupported dtype '%s' (byte strings)", name);
    case 'U':
      return FTC_UNSUPPORTED("npy: unsupported dtype '%s' (unicode strings)", name);
    case 'V':
      return FTC_UNSUPPORTED("npy: unsupported dtype '%s' (void/structured records)", name);
    case 'M':
      return FTC_UNSUPPORTED("npy: unsupported dtype '%s' (datetime)", name);
    case 'm':
      return FTC_UNSUPPORTED("npy: unsupported dtype '%s' (timedelta)", name);
    default:
      return FTC_UNSUPPORTED("npy: unsupported dtype '%s'", name);
  }
}

// ---- shape ----------------------------------------------------------------------------------

Status ParseShape(const PyValue& shape, Shape* out, int64_t* num_elements) {
  if (shape.kind != PyValue::Kind::kTuple) {
    return FTC_CORRUPT("npy: 'shape' is %s, expected a tuple of integers", KindName(shape.kind));
  }
  for (size_t i = 0; i < shape.items.size(); ++i) {
    const PyValue& d = shape.items[i];
    if (d.kind != PyValue::Kind::kInt) {
      return FTC_CORRUPT("npy: 'shape' entry %zu is %s, expected an integer", i, KindName(d.kind));
    }
    if (d.integer < 0) {
      return FTC_CORRUPT("npy: negative dimension in the shape (dimension %zu)", i);
    }
    if (d.int_overflow) return FTC_CORRUPT("npy: shape overflows (dimension %zu exceeds 2^63)", i);
  }
  const size_t rank = shape.items.size();
  if (rank == 0) {
    return FTC_UNSUPPORTED("npy: 0-d arrays (shape ()) are not supported: rank must be 1 to %d",
                           kMaxRank);
  }
  out->clear();
  for (const PyValue& d : shape.items) out->push_back(d.integer);
  if (rank > static_cast<size_t>(kMaxRank)) {
    return FTC_UNSUPPORTED("npy: rank %zu (shape %s) is not supported: rank must be 1 to %d", rank,
                           ShapeToString(*out).c_str(), kMaxRank);
  }
  for (size_t i = 0; i < rank; ++i) {
    if ((*out)[i] == 0) {
      return FTC_UNSUPPORTED("npy: dimension %zu is 0 (empty arrays are not supported)", i);
    }
  }
  int64_t n = 1;
  for (int64_t d : *out) {
    if (n > std::numeric_limits<int64_t>::max() / d) {
      return FTC_CORRUPT("npy: shape overflows (%s elements do not fit in 64 bits)",
                         ShapeToString(*out).c_str());
    }
    n *= d;
  }
  *num_elements = n;
  return Status::Ok();
}

// ---- element decoding -----------------------------------------------------------------------

uint64_t LoadUnsigned(const uint8_t* p, size_t n, bool big_endian) {
  uint64_t v = 0;
  if (big_endian) {
    for (size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
  } else {
    for (size_t i = n; i-- > 0;) v = (v << 8) | p[i];
  }
  return v;
}

// Decodes one file element at `src` (byte-swapped, f8 narrowed to f32) into the slot at `dst`.
void DecodeElement(const NpyDType& t, const uint8_t* src, uint8_t* dst) {
  switch (t.type) {
    case NpyType::kU8:
      *dst = *src;
      break;
    case NpyType::kF16: {
      const uint16_t h = static_cast<uint16_t>(LoadUnsigned(src, 2, t.big_endian));
      std::memcpy(dst, &h, 2);
      break;
    }
    case NpyType::kF32: {
      const uint32_t u = static_cast<uint32_t>(LoadUnsigned(src, 4, t.big_endian));
      std::memcpy(dst, &u, 4);
      break;
    }
    case NpyType::kF64: {
      const uint64_t u = LoadUnsigned(src, 8, t.big_endian);
      double d;
      std::memcpy(&d, &u, 8);
      const float f = static_cast<float>(d);  // IEEE round to nearest even; overflow -> Inf
      std::memcpy(dst, &f, 4);
      break;
    }
    case NpyType::kInt:
    case NpyType::kUInt:
      break;  // ReadNpy never parses these (ParseDescr refuses them there)
  }
}

// Copies the file's elements into C order. `fortran` data has the first index varying fastest.
void DecodeData(const NpyDType& t, bool fortran, const Shape& shape, const uint8_t* src, int64_t n,
                uint8_t* dst, size_t dst_item) {
  const bool identity = t.type == NpyType::kU8 ||
                        ((t.type == NpyType::kF16 || t.type == NpyType::kF32) && !t.big_endian);
  if (!fortran) {
    if (identity) {
      std::memcpy(dst, src, static_cast<size_t>(n) * t.item_size);
      return;
    }
    for (int64_t i = 0; i < n; ++i) DecodeElement(t, src + i * t.item_size, dst + i * dst_item);
    return;
  }
  // Walk the output in C order, keeping the Fortran offset of the current multi-index.
  const int rank = static_cast<int>(shape.size());
  int64_t fstride[kMaxRank];
  int64_t stride = 1;
  for (int d = 0; d < rank; ++d) {
    fstride[d] = stride;
    stride *= shape[d];
  }
  int64_t index[kMaxRank] = {0, 0, 0, 0};
  int64_t offset = 0;
  for (int64_t i = 0; i < n; ++i) {
    DecodeElement(t, src + offset * static_cast<int64_t>(t.item_size), dst + i * dst_item);
    for (int d = rank - 1; d >= 0; --d) {  // odometer increment, last index fastest
      ++index[d];
      offset += fstride[d];
      if (index[d] < shape[d]) break;
      offset -= index[d] * fstride[d];
      index[d] = 0;
    }
  }
}

// The preamble and header dict of a .npy, checked against the bytes that follow: where the data
// starts, what it is, and that it is exactly as long as the shape says.
struct NpyHeader {
  NpyDType dtype;
  bool fortran = false;
  Shape shape;
  int64_t n = 0;   // elements
  size_t pos = 0;  // offset of the data
};

// Preamble: magic, version, header length. Sets *pos to the offset of the header dict and
// *header_len to its length, which the data holds.
Status ReadNpyPreamble(const uint8_t* data, size_t size, const NpyLimits& limits, size_t* pos,
                       uint64_t* header_len) {
  if (size < kMagicLen + 2 || std::memcmp(data, kMagic, kMagicLen) != 0) {
    if (size < kMagicLen + 2 && size > 0 &&
        std::memcmp(data, kMagic, size < kMagicLen ? size : kMagicLen) == 0) {
      return FTC_CORRUPT("npy: file is %zu bytes, too short for the magic and version", size);
    }
    return FTC_CORRUPT("npy: bad magic (not a .npy file)");
  }
  const uint8_t major = data[kMagicLen];
  const uint8_t minor = data[kMagicLen + 1];
  if ((major != 1 && major != 2 && major != 3) || minor != 0) {
    return FTC_UNSUPPORTED("npy: unsupported format version %u.%u (expected 1.0, 2.0 or 3.0)",
                           static_cast<unsigned>(major), static_cast<unsigned>(minor));
  }
  const size_t len_field = major == 1 ? 2 : 4;
  *pos = kMagicLen + 2;
  if (size - *pos < len_field) {
    return FTC_CORRUPT("npy: file is %zu bytes, too short for the header length field", size);
  }
  *header_len = LoadUnsigned(data + *pos, len_field, /*big_endian=*/false);
  *pos += len_field;
  if (*header_len > limits.max_header_bytes) {
    return FTC_LIMIT("npy: header length %llu exceeds the limit of %zu bytes",
                     static_cast<unsigned long long>(*header_len), limits.max_header_bytes);
  }
  if (*header_len > size - *pos) {
    return FTC_CORRUPT("npy: header length %llu runs past the end of the file (%zu bytes left)",
                       static_cast<unsigned long long>(*header_len), size - *pos);
  }
  return Status::Ok();
}

// The values of the header dict's three keys (pointing into the dict), each given exactly once
// and no other key.
struct NpyHeaderKeys {
  const PyValue* descr = nullptr;
  const PyValue* fortran = nullptr;
  const PyValue* shape = nullptr;
};

Status FindHeaderKeys(const std::vector<std::pair<std::string, PyValue>>& dict,
                      NpyHeaderKeys* keys) {
  for (const auto& [key, value] : dict) {
    const PyValue** slot = key == "descr"           ? &keys->descr
                           : key == "fortran_order" ? &keys->fortran
                           : key == "shape"         ? &keys->shape
                                                    : nullptr;
    if (slot == nullptr) {
      return FTC_CORRUPT(
          "npy: unexpected key '%s' in the header (only 'descr', 'fortran_order' "
          "and 'shape' are allowed)",
          ForMessage(key).c_str());
    }
    if (*slot != nullptr)
      return FTC_CORRUPT("npy: duplicate key '%s' in the header", ForMessage(key).c_str());
    *slot = &value;
  }
  if (keys->descr == nullptr) return FTC_CORRUPT("npy: header has no 'descr' key");
  if (keys->fortran == nullptr) return FTC_CORRUPT("npy: header has no 'fortran_order' key");
  if (keys->shape == nullptr) return FTC_CORRUPT("npy: header has no 'shape' key");
  return Status::Ok();
}

Result<NpyHeader> ParseNpyHeader(const uint8_t* data, size_t size, const NpyLimits& limits,
                                 bool integers) {
  size_t pos = 0;
  uint64_t header_len = 0;
  FTC_RETURN_IF_ERROR(ReadNpyPreamble(data, size, limits, &pos, &header_len));

  // Header dict. Versions 1 and 2 are latin-1, version 3 UTF-8: the keys and values we accept
  // are ASCII either way, and other bytes only matter inside strings, which we keep as bytes.
  std::vector<std::pair<std::string, PyValue>> dict;
  LiteralParser parser(reinterpret_cast<const char*>(data + pos), static_cast<size_t>(header_len));
  FTC_RETURN_IF_ERROR(parser.ParseDict(&dict));
  pos += static_cast<size_t>(header_len);
  NpyHeaderKeys keys;
  FTC_RETURN_IF_ERROR(FindHeaderKeys(dict, &keys));
  const PyValue* fortran = keys.fortran;

  NpyDType dtype;
  FTC_RETURN_IF_ERROR(ParseDescr(*keys.descr, integers, &dtype));
  if (fortran->kind != PyValue::Kind::kBool) {
    return FTC_CORRUPT("npy: 'fortran_order' is %s, expected True or False",
                       KindName(fortran->kind));
  }
  Shape shape;
  int64_t n = 0;
  FTC_RETURN_IF_ERROR(ParseShape(*keys.shape, &shape, &n));

  // Limits and sizes, all before allocating.
  if (n > limits.max_elements) {
    return FTC_LIMIT("npy: shape %s has %lld elements, over the limit of %lld",
                     ShapeToString(shape).c_str(), static_cast<long long>(n),
                     static_cast<long long>(limits.max_elements));
  }
  const uint64_t max_bytes = std::numeric_limits<uint64_t>::max() / dtype.item_size;
  if (static_cast<uint64_t>(n) > max_bytes) {
    return FTC_CORRUPT("npy: shape overflows (%s elements of %zu bytes)",
                       ShapeToString(shape).c_str(), dtype.item_size);
  }
  const uint64_t need = static_cast<uint64_t>(n) * dtype.item_size;
  const size_t have = size - pos;
  if (need > have) {
    return FTC_CORRUPT("npy: data is %zu bytes but the header's shape %s needs %llu", have,
                       ShapeToString(shape).c_str(), static_cast<unsigned long long>(need));
  }
  if (need < have) {
    return FTC_CORRUPT("npy: %llu trailing bytes after the array data",
                       static_cast<unsigned long long>(have - need));
  }

  NpyHeader h;
  h.dtype = dtype;
  h.fortran = fortran->boolean;
  h.shape = std::move(shape);
  h.n = n;
  h.pos = pos;
  return h;
}

}  // namespace

Result<NpyArray> ReadNpy(const uint8_t* data, size_t size, const NpyLimits& limits) {
  FTC_ASSIGN_OR_RETURN(NpyHeader h, ParseNpyHeader(data, size, limits, /*integers=*/false));
  const NpyDType& dtype = h.dtype;
  const DType out_type = dtype.type == NpyType::kU8    ? DType::kU8
                         : dtype.type == NpyType::kF16 ? DType::kF16
                                                       : DType::kF32;
  NpyArray result;
  FTC_ASSIGN_OR_RETURN(result.tensor, Tensor::Create(out_type, h.shape));
  result.converted_from_f64 = dtype.type == NpyType::kF64;
  result.was_fortran_order = h.fortran;
  DecodeData(dtype, h.fortran, h.shape, data + h.pos, h.n, result.tensor.data(),
             DTypeSize(out_type));
  return result;
}

Result<NpyIntegers> ReadNpyIntegers(const uint8_t* data, size_t size, const NpyLimits& limits) {
  FTC_ASSIGN_OR_RETURN(NpyHeader h, ParseNpyHeader(data, size, limits, /*integers=*/true));
  const NpyDType& t = h.dtype;
  NpyIntegers out;
  out.shape = h.shape;
  out.values.resize(static_cast<size_t>(h.n));
  // C-order element i is at file element `offset` (Fortran order: the first index fastest).
  const int rank = static_cast<int>(h.shape.size());
  int64_t fstride[kMaxRank];
  int64_t stride = 1;
  for (int d = 0; d < rank; ++d) {
    fstride[d] = stride;
    stride *= h.shape[d];
  }
  int64_t index[kMaxRank] = {0, 0, 0, 0};
  int64_t offset = 0;
  for (int64_t i = 0; i < h.n; ++i) {
    const uint8_t* src = data + h.pos + static_cast<size_t>(h.fortran ? offset : i) * t.item_size;
    const uint64_t bits = LoadUnsigned(src, t.item_size, t.big_endian);
    int64_t v = 0;
    switch (t.type) {
      case NpyType::kU8:
      case NpyType::kUInt:
        if (bits > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
          return FTC_CORRUPT(
              "npy: value %llu at index %lld does not fit in a signed 64-bit integer",
              static_cast<unsigned long long>(bits), static_cast<long long>(i));
        }
        v = static_cast<int64_t>(bits);
        break;
      case NpyType::kInt: {
        const int shift = 64 - 8 * static_cast<int>(t.item_size);  // sign-extend
        v = static_cast<int64_t>(bits << shift) >> shift;
        break;
      }
      case NpyType::kF16:
      case NpyType::kF32:
      case NpyType::kF64: {
        double d = 0;
        if (t.type == NpyType::kF16) {
          d = F16ToF32(static_cast<uint16_t>(bits));
        } else if (t.type == NpyType::kF32) {
          const uint32_t u = static_cast<uint32_t>(bits);
          float f;
          std::memcpy(&f, &u, 4);
          d = f;
        } else {
          std::memcpy(&d, &bits, 8);
        }
        // Whole numbers within +-2^53 (every integer there is exact in a double).
        if (!(std::isfinite(d) && d == std::floor(d) && std::fabs(d) <= 9007199254740992.0)) {
          return FTC_CORRUPT("npy: value %g at index %lld is not a whole number", d,
                             static_cast<long long>(i));
        }
        v = static_cast<int64_t>(d);
        break;
      }
    }
    out.values[static_cast<size_t>(i)] = v;
    if (h.fortran) {
      for (int d = rank - 1; d >= 0; --d) {  // odometer increment, last index fastest
        ++index[d];
        offset += fstride[d];
        if (index[d] < h.shape[d]) break;
        offset -= index[d] * fstride[d];
        index[d] = 0;
      }
    }
  }
  return out;
}

Result<std::vector<uint8_t>> WriteNpy(const TensorView& view) {
  FTC_RETURN_IF_ERROR(view.Validate());
  const char* descr = "<f4";
  size_t item = 4;
  switch (view.dtype) {
    case DType::kF32:
    case DType::kBF16:
      descr = "<f4", item = 4;
      break;  // bf16 widens to f32 exactly
    case DType::kF16:
      descr = "<f2", item = 2;
      break;
    case DType::kU8:
      descr = "|u1", item = 1;
      break;
  }

  // The header exactly as numpy.lib.format._write_array_header builds it.
  std::string shape = "(";
  for (int i = 0; i < view.rank; ++i) {
    if (i) shape += ", ";
    shape += std::to_string(view.shape[i]);
  }
  shape += view.rank == 1 ? ",)" : ")";
  std::string header =
      StrFormat("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape.c_str());
  const size_t first_digits = std::to_string(view.shape[0]).size();
  if (first_digits < kGrowthAxisDigits) header.append(kGrowthAxisDigits - first_digits, ' ');
  // _wrap_header_guess_version: version 1.0 if the length fits in 16 bits, else 2.0.
  const size_t hlen = header.size() + 1;  // + '\n'
  int major = 1;
  size_t prefix = kMagicLen + 2 + 2;
  size_t pad = kArrayAlign - (prefix + hlen) % kArrayAlign;
  if (hlen + pad > 0xFFFF) {
    major = 2;
    prefix = kMagicLen + 2 + 4;
    pad = kArrayAlign - (prefix + hlen) % kArrayAlign;
  }
  header.append(pad, ' ');
  header.push_back('\n');

  const int64_t n = view.num_elements();
  std::vector<uint8_t> out;
  out.reserve(prefix + header.size() + static_cast<size_t>(n) * item);
  ByteWriter w(&out);
  w.Bytes(kMagic, kMagicLen);
  w.U8(static_cast<uint8_t>(major));
  w.U8(0);
  if (major == 1) {
    w.U16(static_cast<uint16_t>(header.size()));
  } else {
    w.U32(static_cast<uint32_t>(header.size()));
  }
  w.Bytes(header.data(), header.size());

  const size_t data_start = out.size();
  out.resize(data_start + static_cast<size_t>(n) * item);
  uint8_t* dst = out.data() + data_start;
  if (view.dtype == DType::kBF16) {
    const bool contiguous = view.is_contiguous();
    for (int64_t i = 0; i < n; ++i) {
      uint16_t b;
      const uint8_t* src =
          contiguous ? static_cast<const uint8_t*>(view.data) + i * 2 : view.element_ptr(i);
      std::memcpy(&b, src, 2);
      const float f = BF16ToF32(b);
      std::memcpy(dst + i * 4, &f, 4);
    }
  } else if (view.is_contiguous()) {
    std::memcpy(dst, view.data, static_cast<size_t>(n) * item);
  } else {
    // Gather in C order, a row (innermost dimension) at a time.
    const int64_t inner = view.shape[view.rank - 1];
    const int64_t step = view.strides[view.rank - 1] * static_cast<int64_t>(item);
    for (int64_t row = 0; row < n; row += inner) {
      const uint8_t* src = view.element_ptr(row);
      for (int64_t i = 0; i < inner; ++i) std::memcpy(dst + (row + i) * item, src + i * step, item);
    }
  }
  return out;
}

}  // namespace ftc
