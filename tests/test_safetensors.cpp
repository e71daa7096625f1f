// Tests for tensor/safetensors.h: round trips, the exact bytes the writer produces, a file written by
// Python (tests/reference/safetensors_io.py), one test per validation rule of the reader, atomic
// writes under an injected write error and under a real crash, and a seeded fuzz loop.
#include "error_of.h"
#include "tensor/safetensors.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#ifndef HUNDUN_SOURCE_DIR
#define HUNDUN_SOURCE_DIR "."
#endif

namespace hd {
namespace {

namespace fs = std::filesystem;

// A fresh folder under /tmp, removed with everything in it at the end of the test.
struct ScratchFolder {
  ScratchFolder() {
    char name[] = "/tmp/hundun_safetensors_XXXXXX";
    if (!mkdtemp(name)) throw std::runtime_error("mkdtemp failed");
    path = name;
  }
  ~ScratchFolder() { fs::remove_all(path); }
  std::string file(const std::string& name) const { return path + "/" + name; }
  // Files left in the folder other than `keep` (e.g. temporary files a failed save left behind).
  std::vector<std::string> others(const std::string& keep) const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(path))
      if (entry.path().filename() != keep) names.push_back(entry.path().filename().string());
    return names;
  }
  std::string path;
};

// 8-byte little-endian length, the header exactly as given (no padding), then the data.
std::vector<uint8_t> raw_file(const std::string& header, const std::vector<uint8_t>& data = {}) {
  uint64_t n = header.size();
  std::string out(8, '\0');
  std::memcpy(out.data(), &n, 8);
  out += header;
  out.append(data.begin(), data.end());
  return std::vector<uint8_t>(out.begin(), out.end());
}

template <typename T>
std::vector<uint8_t> bytes_of(const std::vector<T>& values) {
  std::vector<uint8_t> out(values.size() * sizeof(T));
  if (!values.empty()) std::memcpy(out.data(), values.data(), out.size());
  return out;
}

// A file with tensors of every kind a checkpoint has: matrix, vector, scalar, empty.
TensorFile sample_file() {
  TensorFile f;
  f.tensors["layer1.weight"] = Tensor::from({2, 3}, {1.f, -2.f, 3.5f, 0.f, 1e-7f, -1e30f});
  f.tensors["layer1.bias"] = Tensor::from({3}, {0.25f, 0.5f, 0.75f});
  f.tensors["step"] = Tensor::scalar(42.f);
  f.tensors["nothing"] = Tensor::zeros({0, 4});
  f.metadata["format"] = "pt";
  f.metadata["epoch"] = "3";
  return f;
}

void expect_same(const TensorFile& a, const TensorFile& b) {
  EXPECT_EQ(a.metadata, b.metadata);
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (const auto& [name, t] : a.tensors) {
    ASSERT_TRUE(b.tensors.count(name)) << "missing tensor " << name;
    const Tensor& u = b.tensors.at(name);
    EXPECT_EQ(shape_str(t.shape()), shape_str(u.shape())) << name;
    EXPECT_EQ(t.tolist(), u.tolist()) << name;
  }
}

// parse_safetensors must throw std::runtime_error "bad.safetensors: ...<expected>...".
void expect_rejected(const std::vector<uint8_t>& bytes, const std::string& expected) {
  try {
    parse_safetensors(bytes, "bad.safetensors");
    ADD_FAILURE() << "accepted a bad file; expected an error containing: " << expected;
  } catch (const std::runtime_error& e) {
    std::string message = e.what();
    EXPECT_EQ(message.rfind("bad.safetensors: ", 0), 0u) << message;
    EXPECT_NE(message.find(expected), std::string::npos) << "message: " << message << "\nexpected: " << expected;
  }
}

// One valid F32 [2] entry, the usual neighbour in the corrupt files below.
const std::string kEntryA = R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
const std::vector<uint8_t> kDataA = bytes_of<float>({1.f, 2.f});

// ---------------------------------------------------------------------------------------------
// Round trips and the writer's bytes
// ---------------------------------------------------------------------------------------------

TEST(Safetensors, RoundTripsSeveralTensorsAndMetadata) {
  TensorFile f = sample_file();
  expect_same(f, parse_safetensors(serialize_safetensors(f), "memory"));
}

TEST(Safetensors, RoundTripsAnEmptyFile) {
  TensorFile empty;
  std::vector<uint8_t> bytes = serialize_safetensors(empty);
  EXPECT_EQ(bytes.size(), 16u);  // length + "{}" padded to 8
  TensorFile back = parse_safetensors(bytes, "memory");
  EXPECT_TRUE(back.tensors.empty());
  EXPECT_TRUE(back.metadata.empty());
}

TEST(Safetensors, RoundTripsScalarsAndEmptyTensors) {
  TensorFile f;
  f.tensors["scalar"] = Tensor::scalar(-1.5f);
  f.tensors["zero_rows"] = Tensor::zeros({0, 3});
  f.tensors["zero_middle"] = Tensor::zeros({2, 0, 4});
  f.tensors["zero_1d"] = Tensor::zeros({0});
  TensorFile back = parse_safetensors(serialize_safetensors(f), "memory");
  expect_same(f, back);
  EXPECT_EQ(back.tensors.at("scalar").dim(), 0);
}

TEST(Safetensors, RoundTripsQuotesControlCharactersAndUnicode) {
  TensorFile f;
  f.metadata["quote \" and backslash \\"] = "line\nbreak\ttab \x01 bell";
  f.metadata["unicode"] = "ünïcødé ✓ 🙂 日本語";
  f.metadata["empty"] = "";
  f.tensors["名前/\"quoted\""] = Tensor::from({1}, {7.f});
  expect_same(f, parse_safetensors(serialize_safetensors(f), "memory"));
}

TEST(Safetensors, WritesSortedNamesConsecutiveOffsetsAndAPaddedHeader) {
  TensorFile f;
  f.tensors["b"] = Tensor::from({2}, {1.f, 2.f});
  f.tensors["a"] = Tensor::scalar(3.f);
  f.metadata["k"] = "v";
  std::vector<uint8_t> bytes = serialize_safetensors(f);

  uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u) << "the data must start 8-byte aligned";
  std::string header(bytes.begin() + 8, bytes.begin() + 8 + static_cast<int64_t>(n));
  std::string json = R"({"__metadata__":{"k":"v"},)"
                     R"("a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},)"
                     R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})";
  EXPECT_EQ(header, json + std::string(n - json.size(), ' '));
  EXPECT_LT(n - json.size(), 8u);
  std::vector<uint8_t> data(bytes.begin() + 8 + static_cast<int64_t>(n), bytes.end());
  EXPECT_EQ(data, bytes_of<float>({3.f, 1.f, 2.f}));
}

TEST(Safetensors, RefusesToWriteWhatCannotBeRead) {
  TensorFile undefined;
  undefined.tensors["w"] = Tensor();
  EXPECT_THROW(serialize_safetensors(undefined), std::invalid_argument);
  TensorFile reserved;
  reserved.tensors["__metadata__"] = Tensor::scalar(1.f);
  EXPECT_THROW(serialize_safetensors(reserved), std::invalid_argument);
  TensorFile bad_utf8;
  bad_utf8.tensors["\xff"] = Tensor::scalar(1.f);
  EXPECT_THROW(serialize_safetensors(bad_utf8), std::invalid_argument);
}

TEST(Safetensors, SaveWritesTheSerializedBytesAndLoadReadsThem) {
  ScratchFolder folder;
  std::string path = folder.file("model.safetensors");
  TensorFile f = sample_file();
  save_safetensors(path, f);
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> on_disk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(on_disk, serialize_safetensors(f));
  expect_same(f, load_safetensors(path));
  EXPECT_TRUE(folder.others("model.safetensors").empty());

  // Saving again replaces the file.
  f.tensors.erase("step");
  save_safetensors(path, f);
  expect_same(f, load_safetensors(path));
}

TEST(Safetensors, FileErrorsNameTheFile) {
  ScratchFolder folder;
  std::string missing = folder.file("missing.safetensors");
  try {
    load_safetensors(missing);
    ADD_FAILURE() << "loaded a missing file";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
  }
  std::string in_missing_folder = folder.file("no/such/folder/x.safetensors");
  try {
    save_safetensors(in_missing_folder, sample_file());
    ADD_FAILURE() << "saved into a missing folder";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(in_missing_folder), std::string::npos) << e.what();
  }
}

// Leaves /tmp/hundun_from_cpp.safetensors behind, to try by hand:
//   /usr/bin/python3 tests/reference/safetensors_io.py --check /tmp/hundun_from_cpp.safetensors
TEST(Safetensors, WritesAFileForThePythonReader) {
  std::string path = ::testing::TempDir() + "hundun_from_cpp.safetensors";
  save_safetensors(path, sample_file());
  expect_same(sample_file(), load_safetensors(path));
}

// ---------------------------------------------------------------------------------------------
// A file written by Python
// ---------------------------------------------------------------------------------------------

TEST(Safetensors, LoadsTheFileWrittenByPython) {
  const std::string path = std::string(HUNDUN_SOURCE_DIR) + "/tests/fixtures/safetensors_from_python.safetensors";
  if (!fs::exists(path))
    FAIL() << "missing fixture " << path << ": run /usr/bin/python3 tests/reference/safetensors_io.py";
  TensorFile f = load_safetensors(path);
  auto values = [&](const std::string& name, const Shape& shape) {
    EXPECT_TRUE(f.tensors.count(name)) << name;
    if (!f.tensors.count(name)) return std::vector<float>{};
    EXPECT_EQ(shape_str(f.tensors.at(name).shape()), shape_str(shape)) << name;
    return f.tensors.at(name).tolist();
  };
  EXPECT_EQ(f.tensors.size(), 11u);

  std::vector<float> weight;
  for (int i = 0; i < 6; ++i) weight.push_back((static_cast<float>(i) - 2.5f) / 3.f);
  EXPECT_EQ(values("weight", {2, 3}), weight);
  EXPECT_EQ(values("scalar_f64", {}), std::vector<float>{static_cast<float>(std::numbers::pi)});

  std::vector<float> half = values("half", {6});
  ASSERT_EQ(half.size(), 6u);
  EXPECT_EQ(half[0], 1.f);
  EXPECT_EQ(half[1], -2.5f);
  EXPECT_EQ(half[2], 65504.f);                // largest half
  EXPECT_EQ(half[3], std::ldexp(1.f, -24));  // smallest subnormal half
  EXPECT_EQ(half[4], INFINITY);
  EXPECT_TRUE(half[5] == 0.f && std::signbit(half[5]));

  EXPECT_EQ(values("bf16", {3}), (std::vector<float>{1.f, -3.140625f, std::ldexp(1.f, 100)}));
  EXPECT_EQ(values("int64", {2, 2}),
            (std::vector<float>{-7.f, 0.f, std::ldexp(1.f, 40), static_cast<float>(123456789LL)}));
  EXPECT_EQ(values("int32", {3}), (std::vector<float>{-2147483648.f, 5.f, static_cast<float>(2147483647)}));
  EXPECT_EQ(values("int16", {2}), (std::vector<float>{-32768.f, 32767.f}));
  EXPECT_EQ(values("int8", {3}), (std::vector<float>{-128.f, 0.f, 127.f}));
  EXPECT_EQ(values("uint8", {4}), (std::vector<float>{0.f, 1.f, 200.f, 255.f}));
  EXPECT_EQ(values("mask", {2, 2}), (std::vector<float>{1.f, 0.f, 0.f, 1.f}));
  EXPECT_EQ(values("empty", {0, 3}), std::vector<float>{});

  EXPECT_EQ(f.metadata.at("format"), "pt");
  EXPECT_EQ(f.metadata.at("note"), "He said \"hi\" \\ ünïcødé ✓ 🙂");
}

// ---------------------------------------------------------------------------------------------
// The reader: accepted variations and conversions
// ---------------------------------------------------------------------------------------------

TEST(SafetensorsReader, AcceptsAnyJsonLayoutAndEscapes) {
  // Whitespace everywhere, keys in any order, metadata last, \u escapes (incl. a surrogate pair) in names.
  std::string header = "{ \"\\u00e9\\ud83d\\ude00\" :\n { \"shape\" : [ 2 ] ,\t\"data_offsets\":[0,8],"
                       "\"dtype\":\"F32\" } ,\r\n \"__metadata__\" : { \"k\" : \"a\\/b\\\"c\" } }   ";
  TensorFile f = parse_safetensors(raw_file(header, kDataA), "memory");
  ASSERT_TRUE(f.tensors.count("é😀"));
  EXPECT_EQ(f.tensors.at("é😀").tolist(), (std::vector<float>{1.f, 2.f}));
  EXPECT_EQ(f.metadata.at("k"), "a/b\"c");
}

TEST(SafetensorsReader, ConvertsHalfNaNDoubleAndUnsignedToFloat) {
  std::vector<uint8_t> data = bytes_of<uint16_t>({0x7E00, 0x3C00, 0x0001});       // F16 NaN, 1, 2^-24
  std::vector<uint8_t> f64 = bytes_of<double>({0.1, -1e300});                      // rounds; overflows to -inf
  std::vector<uint8_t> u32 = bytes_of<uint32_t>({4294967295u});
  data.insert(data.end(), f64.begin(), f64.end());
  data.insert(data.end(), u32.begin(), u32.end());
  std::string header = R"({"h":{"dtype":"F16","shape":[3],"data_offsets":[0,6]},)"
                       R"("d":{"dtype":"F64","shape":[2],"data_offsets":[6,22]},)"
                       R"("u":{"dtype":"U32","shape":[1,1],"data_offsets":[22,26]}})";
  TensorFile f = parse_safetensors(raw_file(header, data), "memory");
  std::vector<float> h = f.tensors.at("h").tolist();
  EXPECT_TRUE(std::isnan(h[0]));
  EXPECT_EQ(h[1], 1.f);
  EXPECT_EQ(h[2], std::ldexp(1.f, -24));
  EXPECT_EQ(f.tensors.at("d").tolist(), (std::vector<float>{0.1f, -INFINITY}));
  EXPECT_EQ(f.tensors.at("u").tolist(), std::vector<float>{4294967296.f});
}

// ---------------------------------------------------------------------------------------------
// The reader: one test per rule
// ---------------------------------------------------------------------------------------------

TEST(SafetensorsReader, RejectsAFileShorterThanTheLength) {
  for (size_t n = 0; n < 8; ++n) expect_rejected(std::vector<uint8_t>(n, 0), "too short");
}

TEST(SafetensorsReader, RejectsAHeaderLengthPastTheEnd) {
  std::vector<uint8_t> bytes = raw_file("{}");
  bytes[0] = 3;  // claims 3 bytes, 2 follow
  expect_rejected(bytes, "runs past the end of the file");
}

TEST(SafetensorsReader, RejectsAnAbsurdHeaderLength) {
  std::vector<uint8_t> bytes = raw_file("{}");
  bytes[7] = 0x80;  // 2^63 + 2
  expect_rejected(bytes, "absurd");
}

TEST(SafetensorsReader, RejectsAHeaderThatIsNotAnObject) {
  expect_rejected(raw_file(""), "does not start with '{'");
  expect_rejected(raw_file("[1, 2]"), "does not start with '{'");
  expect_rejected(raw_file(" {}"), "does not start with '{'");
}

TEST(SafetensorsReader, RejectsInvalidJson) {
  expect_rejected(raw_file("{"), "not valid JSON");
  expect_rejected(raw_file(R"({"a":1,})"), "not valid JSON");                  // trailing comma
  expect_rejected(raw_file(R"({} x)"), "unexpected text after");              // trailing garbage
  expect_rejected(raw_file(R"({}{})"), "unexpected text after");
  expect_rejected(raw_file(R"({"a)"), "unterminated string");
  expect_rejected(raw_file(R"({'a':1})"), "expected a string key");
  expect_rejected(raw_file(R"({"a":01})"), "not valid JSON");                  // leading zero
  expect_rejected(raw_file(R"({"a":1.})"), "malformed number");
  expect_rejected(raw_file(R"({"a":tru})"), "unexpected character");
  expect_rejected(raw_file("{\"a\":\"x\ny\"}"), "control character");
  expect_rejected(raw_file(R"({"a":"\x"})"), "unknown escape");
  expect_rejected(raw_file(R"({"a":"\u12"})"), "bad hex digit");
  expect_rejected(raw_file(R"({"a":"\udc00"})"), "unpaired low surrogate");
  expect_rejected(raw_file(R"({"a":"\ud800x"})"), "unpaired high surrogate");
  expect_rejected(raw_file("{\"\xff\":1}"), "invalid UTF-8");
  expect_rejected(raw_file("{\"\xc0\xaf\":1}"), "invalid UTF-8");             // overlong '/'
  expect_rejected(raw_file("{\"\xed\xa0\x80\":1}"), "invalid UTF-8");         // encoded surrogate
  expect_rejected(raw_file(std::string("{\"a\0\":1}", 8)), "control character");
}

TEST(SafetensorsReader, RejectsDeepNestingWithoutExhaustingTheStack) {
  std::string deep = "{\"a\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
  expect_rejected(raw_file(deep), "nested deeper than");
}

TEST(SafetensorsReader, RejectsDuplicateNames) {
  expect_rejected(raw_file("{" + kEntryA + "," + kEntryA + "}", kDataA), "duplicate key \"a\"");
  expect_rejected(raw_file(R"({"__metadata__":{"k":"1","k":"2"}})"), "duplicate key \"k\"");
}

TEST(SafetensorsReader, RejectsEntriesMissingAField) {
  expect_rejected(raw_file(R"({"a":{"shape":[2],"data_offsets":[0,8]}})", kDataA), "tensor \"a\" has no \"dtype\"");
  expect_rejected(raw_file(R"({"a":{"dtype":"F32","data_offsets":[0,8]}})", kDataA), "has no \"shape\"");
  expect_rejected(raw_file(R"({"a":{"dtype":"F32","shape":[2]}})", kDataA), "has no \"data_offsets\"");
}

TEST(SafetensorsReader, RejectsEntriesOfTheWrongType) {
  expect_rejected(raw_file(R"({"a":[1,2]})"), "tensor \"a\" is an array, expected an object");
  expect_rejected(raw_file(R"({"a":{"dtype":32,"shape":[2],"data_offsets":[0,8]}})", kDataA), "dtype is a number");
  expect_rejected(raw_file(R"({"a":{"dtype":"F32","shape":"2","data_offsets":[0,8]}})", kDataA), "shape is a string");
  expect_rejected(raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", kDataA),
                  "data_offsets must be an array [begin, end]");
  expect_rejected(raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":{"0":8}}})", kDataA),
                  "data_offsets must be an array");
  expect_rejected(raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}})", kDataA),
                  "unknown key \"x\"");
}

TEST(SafetensorsReader, RejectsUnknownDtypes) {
  expect_rejected(raw_file(R"({"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}})", kDataA),
                  "unknown or unsupported dtype \"F33\"");
  expect_rejected(raw_file(R"({"a":{"dtype":"F8_E4M3","shape":[8],"data_offsets":[0,8]}})", kDataA),
                  "unsupported dtype \"F8_E4M3\"");
  expect_rejected(raw_file(R"({"a":{"dtype":"f32","shape":[2],"data_offsets":[0,8]}})", kDataA), "dtype \"f32\"");
}

TEST(SafetensorsReader, RejectsShapesThatAreNotSizes) {
  auto with_shape = [](const std::string& shape) {
    return raw_file(R"({"a":{"dtype":"F32","shape":)" + shape + R"(,"data_offsets":[0,8]}})", kDataA);
  };
  expect_rejected(with_shape("[-2]"), "shape[0] is -2, expected a non-negative integer");
  expect_rejected(with_shape("[2.0]"), "shape[0] is 2.0, expected an integer");
  expect_rejected(with_shape("[1, 2e0]"), "shape[1] is 2e0, expected an integer");
  expect_rejected(with_shape("[true]"), "shape[0] is a boolean");
  expect_rejected(with_shape("[null]"), "shape[0] is null");
  expect_rejected(with_shape("[\"2\"]"), "shape[0] is a string");
  expect_rejected(with_shape("[18446744073709551616]"), "too large");
  expect_rejected(with_shape("[4294967296, 4294967296]"), "too many elements (overflow)");
  expect_rejected(with_shape("[2305843009213693952]"), "too many elements (overflow)");  // 2^61 * 4 bytes
}

// No elements, but sizes whose product (an empty axis counted as 1) is over 2^60: refused naming the file, not by
// the Tensor constructor with an invalid_argument naming none (found by fuzz/fuzz_safetensors.cpp's check that every
// error names the file).
TEST(SafetensorsReader, RejectsEmptyShapesWhoseOtherSizesAreTooLarge) {
  expect_rejected(raw_file(R"({"a":{"dtype":"F32","shape":[0,4611686018427387904,4],"data_offsets":[0,0]}})"),
                  "tensor \"a\": shape [0, 4611686018427387904, 4] is too large (more than 2^60 elements");
  EXPECT_EQ(parse_safetensors(raw_file(R"({"a":{"dtype":"F32","shape":[0,1152921504606846976],"data_offsets":[0,0]}})"),
                              "memory")
                .tensors.at("a")
                .shape(),
            (Shape{0, int64_t{1} << 60}));  // exactly 2^60 is allowed
}

TEST(SafetensorsReader, RejectsBadOffsets) {
  auto with_offsets = [](const std::string& offsets) {
    return raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":)" + offsets + "}}", kDataA);
  };
  expect_rejected(with_offsets("[8,0]"), "end before they begin");
  expect_rejected(with_offsets("[0,12]"), "run past the end of the data buffer (8 bytes)");
  expect_rejected(with_offsets("[-1,8]"), "data_offsets[0] is -1");
  expect_rejected(with_offsets("[0,8.5]"), "data_offsets[1] is 8.5");
  expect_rejected(with_offsets("[0,4]"), "hold 4 bytes, but F32 [2] needs 8");
}

TEST(SafetensorsReader, RejectsOverlappingTensors) {
  std::string header = "{" + kEntryA + R"(,"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})";
  expect_rejected(raw_file(header, kDataA), "tensors \"a\" [0, 8) and \"b\" [4, 8) overlap");
}

TEST(SafetensorsReader, RejectsGapsAndUnusedBytes) {
  std::vector<uint8_t> data = bytes_of<float>({1.f, 2.f, 3.f});
  std::string gap = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                    R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})";
  expect_rejected(raw_file(gap, data), "bytes [4, 8) of the data buffer belong to no tensor");
  expect_rejected(raw_file("{" + kEntryA + "}", data), "bytes [8, 12) of the data buffer belong to no tensor");
  expect_rejected(raw_file("{}", kDataA), "bytes [0, 8) of the data buffer belong to no tensor");
}

TEST(SafetensorsReader, RejectsMetadataThatIsNotStrings) {
  expect_rejected(raw_file(R"({"__metadata__":{"epoch":3}})"), "__metadata__ \"epoch\" is a number, expected a string");
  expect_rejected(raw_file(R"({"__metadata__":{"a":{"b":"c"}}})"), "is an object, expected a string");
  expect_rejected(raw_file(R"({"__metadata__":["a"]})"), "__metadata__ is an array");
}

TEST(SafetensorsReader, RejectsBoolBytesOtherThanZeroAndOne) {
  expect_rejected(raw_file(R"({"m":{"dtype":"BOOL","shape":[3],"data_offsets":[0,3]}})", {1, 0, 2}),
                  "BOOL element 2 is byte 2, expected 0 or 1");
}

// ---------------------------------------------------------------------------------------------
// Atomic writes
// ---------------------------------------------------------------------------------------------

TEST(SafetensorsAtomicWrite, AWriteErrorLeavesThePreviousFileAndNoTemporaryFile) {
  ScratchFolder folder;
  const std::string path = folder.file("model.safetensors");
  TensorFile before = sample_file();
  save_safetensors(path, before);

  TensorFile after;
  after.tensors["w"] = Tensor::full({1000}, 5.f);
  const int64_t size = static_cast<int64_t>(serialize_safetensors(after).size());
  for (int64_t fail_after : {int64_t{0}, int64_t{5}, int64_t{8}, int64_t{100}, size - 1}) {
    test_hooks::set_safetensors_write_fault_for_testing(fail_after);
    try {
      save_safetensors(path, after);
      ADD_FAILURE() << "the injected fault after " << fail_after << " bytes did not fire";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
    expect_same(before, load_safetensors(path));
    EXPECT_EQ(folder.others("model.safetensors"), std::vector<std::string>{}) << "after " << fail_after;
  }
  // The fault fires once: the next save goes through.
  save_safetensors(path, after);
  expect_same(after, load_safetensors(path));
}

// A real crash mid-write, with no cleanup code running: a child process saves a 4 MB file under a
// 64 KB file-size limit, and the kernel kills it with SIGXFSZ inside write().
// A 1 GB file of zeros (sparse: it takes no disk) is refused after its first 9 bytes, not read whole first.
TEST(SafetensorsReader, ABigFileWithABadStartIsRefusedBeforeItIsRead) {
  ScratchFolder folder;
  const std::string path = folder.file("zeros.safetensors");
  { std::ofstream(path) << ""; }
  fs::resize_file(path, 1ull << 30);
  const std::string message = test::error_of([&] { load_safetensors(path); });
  EXPECT_NE(message.find(path + ": header does not start with '{'"), std::string::npos) << message;
}

TEST(SafetensorsAtomicWrite, ACrashMidWriteLeavesThePreviousFile) {
  ScratchFolder folder;
  const std::string path = folder.file("model.safetensors");
  TensorFile before = sample_file();
  save_safetensors(path, before);

  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    prctl(PR_SET_DUMPABLE, 0);  // no core file
    rlimit limit{65536, 65536};
    setrlimit(RLIMIT_FSIZE, &limit);
    TensorFile big;
    big.tensors["w"] = Tensor::zeros({1 << 20});
    try {
      save_safetensors(path, big);
    } catch (...) {
    }
    _exit(0);  // not reached: the kernel stops the child first
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the child was not killed, status " << status;
  EXPECT_EQ(WTERMSIG(status), SIGXFSZ);

  expect_same(before, load_safetensors(path));
  // The crash left its half-written temporary file behind (proof it died mid-write); the target is untouched.
  std::vector<std::string> left = folder.others("model.safetensors");
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].rfind("model.safetensors.tmp-", 0), 0u) << left[0];
  EXPECT_EQ(fs::file_size(folder.file(left[0])), 65536u);

  // The next write of the same file removes the leftover (and only files of that name's pattern).
  std::ofstream(folder.file("model.safetensors.tmp-notmine")) << "x";  // 7 characters after tmp-: not mkostemp's
  save_safetensors(path, before);
  left = folder.others("model.safetensors");
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0], "model.safetensors.tmp-notmine");
}

// ---------------------------------------------------------------------------------------------
// Fuzzing: corrupt files must be rejected with std::runtime_error, never crash
// ---------------------------------------------------------------------------------------------

TEST(SafetensorsReader, SurvivesThousandsOfCorruptedFiles) {
  TensorFile f = sample_file();
  f.metadata["note"] = "ünïcødé \"q\" \\";
  std::vector<uint8_t> valid = serialize_safetensors(f);
  uint64_t header_size;
  std::memcpy(&header_size, valid.data(), 8);

  std::mt19937 gen(12345);
  auto below = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(gen); };
  int accepted = 0, rejected = 0;
  for (int variant = 0; variant < 5000; ++variant) {
    std::vector<uint8_t> bytes = valid;
    switch (variant % 4) {
      case 0:  // random bytes anywhere
        for (int k = 0, n = 1 + static_cast<int>(below(4)); k < n; ++k) bytes[below(bytes.size())] = static_cast<uint8_t>(gen());
        break;
      case 1:  // one header byte replaced by JSON punctuation or a digit
        bytes[8 + below(header_size)] = static_cast<uint8_t>("{}[]\",:0123456789-.e \\u"[below(24)]);
        break;
      case 2:  // truncated
        bytes.resize(below(bytes.size()));
        break;
      case 3:  // a bit of the length field flipped
        bytes[below(8)] ^= static_cast<uint8_t>(1u << below(8));
        break;
    }
    try {
      parse_safetensors(bytes, "fuzz");
      ++accepted;
    } catch (const std::runtime_error&) {
      ++rejected;
    }
  }
  // Flips inside float data or metadata text keep the file valid; most others do not.
  EXPECT_GT(accepted, 0);
  EXPECT_GT(rejected, 2500);
  std::printf("fuzz: %d variants accepted, %d rejected\n", accepted, rejected);
}

}  // namespace
}  // namespace hd
