// Tests for data/image.h: grid layout, pixel values, PNG round trips and the errors for bad files.
#include <gtest/gtest.h>
#include <stb/stb_image_write.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "data/image.h"

namespace hd {
namespace {

namespace fs = std::filesystem;

// A fresh folder per test, removed at the end.
class ImageFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("hundun_test_image_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

// The message of the exception `f` throws, or "" when it throws none of type E.
template <class E, class F>
std::string message_of(F f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "";
}

// N images [N, C, H, W], image n filled with the value n.
Tensor numbered_images(int64_t N, int64_t C, int64_t H, int64_t W) {
  Tensor t({N, C, H, W});
  for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] = static_cast<float>(i / (C * H * W));
  return t;
}

TEST(MakeGrid, FiveImagesInRowsOfThreeMakeTwoRows) {
  GridOptions o;
  o.nrow = 3;
  o.padding = 2;
  Tensor grid = make_grid(numbered_images(5, 1, 4, 6), o);
  // rows = 2, cols = 3: height 2 * (4 + 2) + 2, width 3 * (6 + 2) + 2.
  EXPECT_EQ(grid.shape(), (Shape{1, 14, 26}));
}

TEST(MakeGrid, FewerImagesThanNrowUseOneShortRow) {
  GridOptions o;
  o.padding = 0;
  EXPECT_EQ(make_grid(numbered_images(3, 3, 2, 2), o).shape(), (Shape{3, 2, 6}));
}

TEST(MakeGrid, UpscaleZoomsImagesButNotPadding) {
  GridOptions o;
  o.nrow = 2;
  o.padding = 1;
  o.upscale = 3;
  Tensor grid = make_grid(numbered_images(4, 1, 2, 2), o);
  EXPECT_EQ(grid.shape(), (Shape{1, 2 * (6 + 1) + 1, 2 * (6 + 1) + 1}));
  // Image 3 (bottom right) starts at (1 + 7, 1 + 7) and covers 6x6 pixels.
  EXPECT_EQ(grid.at({0, 8, 8}), 3.f);
  EXPECT_EQ(grid.at({0, 13, 13}), 3.f);
  EXPECT_EQ(grid.at({0, 14, 14}), 1.f);  // the border: pad_value
}

TEST(MakeGrid, UpscaleRepeatsEachPixel) {
  GridOptions o;
  o.padding = 0;
  o.upscale = 2;
  Tensor grid = make_grid(Tensor::from({1, 1, 2, 2}, {1, 2, 3, 4}), o);
  EXPECT_EQ(grid.tolist(), (std::vector<float>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}));
}

TEST(MakeGrid, PlacesImagesRowByRowWithPadValueBetween) {
  GridOptions o;
  o.nrow = 2;
  o.padding = 1;
  o.pad_value = -7.f;
  Tensor grid = make_grid(numbered_images(3, 1, 1, 1), o);  // 1x1 images valued 0, 1, 2
  // 2 rows x 2 cols of 1-pixel images, 1 pixel padding: [1, 5, 5].
  const float p = -7.f;
  EXPECT_EQ(grid.tolist(), (std::vector<float>{p, p, p, p, p,  //
                                               p, 0, p, 1, p,  //
                                               p, p, p, p, p,  //
                                               p, 2, p, p, p,  //
                                               p, p, p, p, p}));
}

TEST(MakeGrid, NormalizeUsesTheMinAndMaxOfAllImages) {
  GridOptions o;
  o.padding = 0;
  o.normalize = true;
  Tensor grid = make_grid(Tensor::from({2, 1, 1, 2}, {-2, 0, 0, 2}), o);
  EXPECT_EQ(grid.tolist(), (std::vector<float>{0.f, 0.5f, 0.5f, 1.f}));
}

TEST(MakeGrid, ScaleEachUsesEachImagesOwnRange) {
  GridOptions o;
  o.padding = 0;
  o.normalize = true;
  o.scale_each = true;
  Tensor grid = make_grid(Tensor::from({2, 1, 1, 2}, {-2, 0, 0, 2}), o);
  EXPECT_EQ(grid.tolist(), (std::vector<float>{0.f, 1.f, 0.f, 1.f}));
}

TEST(MakeGrid, RejectsWrongRankAndChannelCount) {
  EXPECT_NE(message_of<std::invalid_argument>([] {
              make_grid(Tensor::zeros({4, 28, 28}));
            }).find("[4, 28, 28]"),
            std::string::npos);
  EXPECT_THROW(make_grid(Tensor::zeros({4, 2, 8, 8})), std::invalid_argument);
  GridOptions o;
  o.nrow = 0;
  EXPECT_THROW(make_grid(Tensor::zeros({4, 1, 8, 8}), o), std::invalid_argument);
}

TEST_F(ImageFiles, GreyRoundTripEqualsTheQuantisedValues) {
  Tensor image({1, 3, 5});
  for (int64_t i = 0; i < 15; ++i) image.data()[i] = static_cast<float>(i) / 14.f;
  save_png(image, path("grey.png"));
  Tensor back = load_png(path("grey.png"));
  ASSERT_EQ(back.shape(), (Shape{1, 3, 5}));
  for (int64_t i = 0; i < 15; ++i) EXPECT_EQ(back.data()[i], std::round(image.data()[i] * 255.f) / 255.f) << i;
}

TEST_F(ImageFiles, ColourRoundTripKeepsChannelsApart) {
  // Red, green, blue in the 3 pixels of one row.
  Tensor image = Tensor::from({3, 1, 3}, {1, 0, 0,  //
                                          0, 1, 0,  //
                                          0, 0, 1});
  save_png(image, path("rgb.png"));
  Tensor back = load_png(path("rgb.png"));
  EXPECT_EQ(back.shape(), (Shape{3, 1, 3}));
  EXPECT_EQ(back.tolist(), image.tolist());
}

TEST_F(ImageFiles, ValuesAreClampedToTheRangeAndNanIsBlack) {
  save_png(Tensor::from({1, 4}, {-5.f, 0.f, NAN, 9.f}), path("clamp.png"), -1.f, 1.f);
  EXPECT_EQ(load_png(path("clamp.png")).tolist(), (std::vector<float>{0.f, 128 / 255.f, 0.f, 1.f}));
}

TEST_F(ImageFiles, SaveImageGridCreatesMissingFolders) {
  GridOptions o;
  o.nrow = 2;
  o.upscale = 2;
  std::string file = path("a/b/grid.png");
  save_image_grid(numbered_images(3, 1, 4, 4), file, o);
  Tensor back = load_png(file);
  EXPECT_EQ(back.shape(), (Shape{1, 2 * (8 + 2) + 2, 2 * (8 + 2) + 2}));
  // Only the finished file is left, no temporary one.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_ / "a/b"), fs::directory_iterator()), 1);
}

TEST_F(ImageFiles, RejectsImagesLargerThanTheLimits) {
  save_png(Tensor::zeros({1, 10, 20}), path("wide.png"));
  EXPECT_NO_THROW(load_png(path("wide.png"), 20, 10));
  std::string msg = message_of<std::runtime_error>([&] { load_png(path("wide.png"), 16, 16); });
  EXPECT_NE(msg.find("20x10"), std::string::npos) << msg;
  EXPECT_NE(msg.find("wide.png"), std::string::npos) << msg;
}

TEST_F(ImageFiles, ChecksTheHeaderSizeBeforeDecoding) {
  // A PNG whose header claims 10000 x 10000 RGB pixels (300 MB decoded) but holds 4 x 4: the IHDR
  // chunk's width and height are the big-endian words at bytes 16 and 20. stb does not check CRCs.
  save_png(Tensor::zeros({3, 4, 4}), path("small.png"));
  std::string bytes;
  {
    std::ifstream in(path("small.png"), std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  const char huge[4] = {0x00, 0x00, 0x27, 0x10};  // 10000
  bytes.replace(16, 4, huge, 4);
  bytes.replace(20, 4, huge, 4);
  std::ofstream(path("huge.png"), std::ios::binary) << bytes;
  std::string msg = message_of<std::runtime_error>([&] { load_png(path("huge.png")); });
  EXPECT_NE(msg.find("10000x10000"), std::string::npos) << msg;
}

TEST_F(ImageFiles, AlphaChannelIsDropped) {
  // A 2x1 RGBA file written directly with stb: opaque red, half-transparent grey.
  const unsigned char rgba[8] = {255, 0, 0, 255, 100, 100, 100, 128};
  ASSERT_TRUE(stbi_write_png(path("rgba.png").c_str(), 2, 1, 4, rgba, 8));
  Tensor image = load_png(path("rgba.png"));
  EXPECT_EQ(image.shape(), (Shape{3, 1, 2}));
  EXPECT_EQ(image.tolist(), (std::vector<float>{1.f, 100 / 255.f, 0.f, 100 / 255.f, 0.f, 100 / 255.f}));
}

TEST_F(ImageFiles, RejectsAFileThatIsNotAPng) {
  std::ofstream(path("garbage.png"), std::ios::binary) << "this is not an image at all \x01\x02\x03";
  std::string msg = message_of<std::runtime_error>([&] { load_png(path("garbage.png")); });
  EXPECT_NE(msg.find("garbage.png"), std::string::npos) << msg;
  EXPECT_NE(msg.find("not a PNG"), std::string::npos) << msg;
}

TEST_F(ImageFiles, RejectsATruncatedPng) {
  save_png(Tensor::full({3, 32, 32}, 0.5f), path("whole.png"));
  std::string bytes;
  {
    std::ifstream in(path("whole.png"), std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::ofstream(path("cut.png"), std::ios::binary) << bytes.substr(0, 40);  // signature + header, no pixels
  std::string msg = message_of<std::runtime_error>([&] { load_png(path("cut.png")); });
  EXPECT_NE(msg.find("cut.png"), std::string::npos) << msg;
}

TEST(LoadPng, NamesAMissingFile) {
  std::string msg = message_of<std::runtime_error>([] { load_png("/nonexistent/hundun/missing.png"); });
  EXPECT_NE(msg.find("/nonexistent/hundun/missing.png"), std::string::npos) << msg;
  EXPECT_NE(msg.find("No such file"), std::string::npos) << msg;
}

TEST(SavePng, NamesAnUnwritablePath) {
  // /proc does not allow new folders or files.
  std::string msg = message_of<std::runtime_error>([] { save_png(Tensor::zeros({2, 2}), "/proc/hundun/x.png"); });
  EXPECT_NE(msg.find("/proc/hundun/x.png"), std::string::npos) << msg;
}

TEST(SavePng, RejectsBadShapesAndRanges) {
  EXPECT_THROW(save_png(Tensor::zeros({2, 4, 4}), "/tmp/never.png"), std::invalid_argument);
  EXPECT_THROW(save_png(Tensor::zeros({1, 1, 4, 4}), "/tmp/never.png"), std::invalid_argument);
  EXPECT_THROW(save_png(Tensor::zeros({4, 4}), "/tmp/never.png", 1.f, 1.f), std::invalid_argument);
}

// ------------------------------------------------------------------------------------------- read_image_file

TEST_F(ImageFiles, ReadImageFileReadsAPngWhateverItsName) {
  save_png(Tensor::from({1, 2, 2}, {0.f, 1.f, 1.f, 0.f}), path("grey.png"));
  std::filesystem::rename(path("grey.png"), path("picture.dat"));
  Tensor image = read_image_file(path("picture.dat"), 4);
  EXPECT_EQ(image.shape(), (Shape{1, 2, 2}));
  EXPECT_EQ(image.tolist(), (std::vector<float>{0.f, 1.f, 1.f, 0.f}));
}

TEST_F(ImageFiles, ReadImageFileReadsAJpeg) {
  unsigned char rgb[4 * 2 * 3];
  for (int i = 0; i < 24; ++i) rgb[i] = i % 3 == 0 ? 250 : 5;  // red everywhere
  ASSERT_TRUE(stbi_write_jpg(path("red.jpg").c_str(), 4, 2, 3, rgb, 95));
  Tensor image = read_image_file(path("red.jpg"), 8);
  ASSERT_EQ(image.shape(), (Shape{3, 2, 4}));
  EXPECT_GT(image.data()[0], 0.9f);  // red plane
  EXPECT_LT(image.data()[8], 0.1f);  // green plane
}

TEST_F(ImageFiles, ReadImageFileRefusesMorePixelsThanTheLimitFromTheHeader) {
  save_png(Tensor::zeros({1, 10, 20}), path("wide.png"));
  EXPECT_NO_THROW(read_image_file(path("wide.png"), 200));
  std::string msg = message_of<std::runtime_error>([&] { read_image_file(path("wide.png"), 199); });
  EXPECT_NE(msg.find("wide.png"), std::string::npos) << msg;
  EXPECT_NE(msg.find("20x10"), std::string::npos) << msg;
  EXPECT_NE(msg.find("199"), std::string::npos) << msg;
}

TEST_F(ImageFiles, ReadImageFileRefusesOtherFormatsNamingTheFile) {
  // A BMP stb could decode: only PNG and JPEG are let through.
  const unsigned char pixel[3] = {1, 2, 3};
  ASSERT_TRUE(stbi_write_bmp(path("x.bmp").c_str(), 1, 1, 3, pixel));
  std::string msg = message_of<std::runtime_error>([&] { read_image_file(path("x.bmp"), 100); });
  EXPECT_NE(msg.find("x.bmp"), std::string::npos) << msg;
  EXPECT_NE(msg.find("neither a PNG nor a JPEG"), std::string::npos) << msg;
  std::ofstream(path("empty.png"), std::ios::binary).flush();
  EXPECT_NE(message_of<std::runtime_error>([&] { read_image_file(path("empty.png"), 100); }).find("empty.png"),
            std::string::npos);
}

TEST_F(ImageFiles, ReadImageFileRefusesAFolderAndAFifo) {
  fs::create_directories(path("folder.png"));
  std::string msg = message_of<std::runtime_error>([&] { read_image_file(path("folder.png"), 100); });
  EXPECT_NE(msg.find("not a regular file"), std::string::npos) << msg;
  ASSERT_EQ(::mkfifo(path("fifo.png").c_str(), 0600), 0);
  msg = message_of<std::runtime_error>([&] { read_image_file(path("fifo.png"), 100); });  // returns, never waits
  EXPECT_NE(msg.find("fifo.png"), std::string::npos) << msg;
  EXPECT_NE(msg.find("not a regular file"), std::string::npos) << msg;
}

TEST_F(ImageFiles, ReadImageFileNamesATruncatedFileAndAMissingOne) {
  save_png(Tensor::full({3, 32, 32}, 0.5f), path("whole.png"));
  std::string bytes;
  {
    std::ifstream in(path("whole.png"), std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::ofstream(path("cut.png"), std::ios::binary) << bytes.substr(0, 40);
  std::string msg = message_of<std::runtime_error>([&] { read_image_file(path("cut.png"), 4096); });
  EXPECT_NE(msg.find("cut.png"), std::string::npos) << msg;
  msg = message_of<std::runtime_error>([&] { read_image_file(path("missing.png"), 4096); });
  EXPECT_NE(msg.find("missing.png"), std::string::npos) << msg;
  EXPECT_NE(msg.find("No such file"), std::string::npos) << msg;
}

// Debian's stb_image 2.27 writes past its Huffman tables for a JPEG whose table declares more than 256 codes (found
// by make fuzz; stb 2.28 fixed it). read_image_file refuses such a file before stb reads it.
TEST_F(ImageFiles, ReadImageFileRefusesAJpegHuffmanTableOfMoreThan256Codes) {
  std::string jpeg = "\xFF\xD8";  // SOI
  const int codes = 16 * 18;
  const int length = 2 + 17 + codes;
  jpeg += "\xFF\xC4";  // DHT
  jpeg += static_cast<char>(length >> 8);
  jpeg += static_cast<char>(length & 0xFF);
  jpeg += '\x00';                        // class 0 (DC), table 0
  jpeg += std::string(16, '\x12');       // 18 codes of each of the 16 lengths
  jpeg += std::string(codes, '\x00');    // their values
  jpeg += "\xFF\xD9";                    // EOI
  std::ofstream(path("bad-dht.jpg"), std::ios::binary) << jpeg;
  std::string msg = message_of<std::runtime_error>([&] { read_image_file(path("bad-dht.jpg"), 4096); });
  EXPECT_NE(msg.find("bad-dht.jpg"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Huffman table (DHT) of 288 codes"), std::string::npos) << msg;

  // Cut inside the counts: stb reads zeros past the end and still overflows with the counts it got.
  std::ofstream(path("cut-dht.jpg"), std::ios::binary) << jpeg.substr(0, 2 + 4 + 1 + 15);
  msg = message_of<std::runtime_error>([&] { read_image_file(path("cut-dht.jpg"), 4096); });
  EXPECT_NE(msg.find("Huffman table (DHT) of 270 codes"), std::string::npos) << msg;
}

// stb allocates what a PNG chunk declares before reading it: a 117-byte file declaring a 2 GB IDAT chunk made it ask
// for 2 GB (found by make fuzz). Both readers refuse a chunk longer than the rest of the file, naming the file.
TEST_F(ImageFiles, APngChunkLongerThanTheFileIsRefusedBeforeStbAllocatesForIt) {
  save_png(Tensor::zeros({1, 4, 4}), path("small.png"));
  std::string bytes;
  {
    std::ifstream in(path("small.png"), std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  // The chunk after IHDR (8 signature bytes + 25 of IHDR) is the IDAT: its length becomes 2^31 - 1.
  ASSERT_EQ(bytes.substr(33 + 4, 4), "IDAT");
  bytes.replace(33, 4, std::string("\x7F\xFF\xFF\xFF", 4));
  std::ofstream(path("long-chunk.png"), std::ios::binary) << bytes;
  for (const std::string& msg :
       {message_of<std::runtime_error>([&] { read_image_file(path("long-chunk.png"), 4096); }),
        message_of<std::runtime_error>([&] { load_png(path("long-chunk.png")); })}) {
    EXPECT_NE(msg.find("long-chunk.png"), std::string::npos) << msg;
    EXPECT_NE(msg.find("its 'IDAT' chunk of 2147483647 bytes runs past the end of the file"), std::string::npos) << msg;
  }
}

// A progressive JPEG (written by tests/reference/make_progressive_jpeg.py) defines its tables between its 10 scans,
// and each scan needs only some of them: the table check below lets it through.
TEST_F(ImageFiles, ReadImageFileReadsAProgressiveJpeg) {
  Tensor image = read_image_file(std::string(HUNDUN_SOURCE_DIR) + "/tests/fixtures/progressive.jpg", 128);
  ASSERT_EQ(image.shape(), (Shape{3, 8, 16}));
  EXPECT_NEAR(image.data()[3 * 128 - 1], 128 / 255.f, 0.1f);  // the blue plane is 128 everywhere, give or take JPEG
}

// A scan naming a Huffman table no DHT defined made stb decode with uninitialised memory, and Debian's build abort on
// an assertion (found by make fuzz; stb 2.28 fixed it). read_image_file refuses such a file.
TEST_F(ImageFiles, ReadImageFileRefusesAScanUsingAnUndefinedHuffmanTable) {
  unsigned char grey[8 * 8];
  for (int i = 0; i < 64; ++i) grey[i] = static_cast<unsigned char>(i * 4);
  ASSERT_TRUE(stbi_write_jpg(path("grey.jpg").c_str(), 8, 8, 1, grey, 90));
  std::string bytes;
  {
    std::ifstream in(path("grey.jpg"), std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  const size_t sos = bytes.find("\xFF\xDA");
  ASSERT_NE(sos, std::string::npos);
  ASSERT_EQ(bytes[sos + 4], 3);  // stb writes Y, Cb, Cr: each component's id, then its tables (DC << 4 | AC)
  bytes[sos + 6] = '\x33';       // Y's: DC table 3 and AC table 3, where stb defines only 0 and 1
  std::ofstream(path("undefined-table.jpg"), std::ios::binary) << bytes;
  std::string msg = message_of<std::runtime_error>([&] { read_image_file(path("undefined-table.jpg"), 4096); });
  EXPECT_NE(msg.find("undefined-table.jpg"), std::string::npos) << msg;
  EXPECT_NE(msg.find("a scan uses the DC Huffman table 3, which no DHT segment before it defines"), std::string::npos)
      << msg;
}

}  // namespace
}  // namespace hd
