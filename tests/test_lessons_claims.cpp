// test_lessons_claims.cpp — a lesson's printed conclusions agree with its printed numbers (issue 14).
//
// Each test runs a built lesson (<build>/lessons/NN_x, next to this binary's folder; `make test` builds them
// first), reads what it printed, and checks every conclusion against the numbers it was drawn from: a caption
// that says "samples cover all three bumps" must come with a learned density that has peaks at all three, a
// verdict "not twice the same" with two reconstructions that differ. Most runs are --smoke (seconds), where the
// numbers are poor, so the conclusions must say so. Lesson 03 also runs with --components 1, where they flip.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

// Runs <build>/lessons/<lesson> with `args` and --out in a scratch folder; returns what it printed.
std::string run_lesson(const std::string& lesson, const std::string& args) {
  const fs::path self = fs::read_symlink("/proc/self/exe");
  const fs::path binary = self.parent_path().parent_path() / "lessons" / lesson;
  if (!fs::exists(binary)) {
    ADD_FAILURE() << binary << " is not built (make test builds it)";
    return "";
  }
  const fs::path out = fs::temp_directory_path() / ("hundun_claims_" + std::to_string(getpid())) / lesson;
  const std::string command =
      "OMP_NUM_THREADS=1 " + binary.string() + " " + args + " --out " + out.string() + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) {
    ADD_FAILURE() << "cannot run " << command;
    return "";
  }
  std::string text;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) text.append(buffer, n);
  const int status = pclose(pipe);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << command << " failed:\n" << text;
  fs::remove_all(out);
  return text;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// The first match of `pattern` in `text`, its groups as numbers; fails the test when there is none.
std::vector<double> numbers(const std::string& text, const std::string& pattern) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex(pattern))) {
    ADD_FAILURE() << "no line matches /" << pattern << "/ in:\n" << text;
    return std::vector<double>(16, NAN);
  }
  std::vector<double> v;
  for (size_t i = 1; i < m.size(); ++i) v.push_back(std::strtod(m[i].str().c_str(), nullptr));
  return v;
}

bool says(const std::string& text, const std::string& phrase) { return text.find(phrase) != std::string::npos; }

const std::string kNumber = "([-+]?[0-9]+(?:\\.[0-9]+)?)";

// --- lesson 03 ---

// The claims of lesson 03 that hold or fail together with their numbers, for any run.
void check_lesson03(const std::string& out) {
  // Section 2: "(empty space)" exactly where f(x0) is more than 0.05 from every answer there; the caption names
  // exactly those probes.
  std::string empty;
  std::regex probe("f\\(" + kNumber + "\\) = " + kNumber + ": the nearest answer in the data there is " + kNumber +
                   " away( \\(empty space\\))?");
  int probes = 0;
  for (std::sregex_iterator it(out.begin(), out.end(), probe), end; it != end; ++it, ++probes) {
    const double gap = std::stod((*it)[3]);
    const bool marked = (*it)[4].matched;
    if (gap > 0.055) {
      EXPECT_TRUE(marked) << it->str();
    } else if (gap < 0.045) {
      EXPECT_FALSE(marked) << it->str();
    }
    if (marked) empty += (empty.empty() ? "" : ", ") + (*it)[1].str().substr(0, 3);
  }
  EXPECT_EQ(probes, 4);
  EXPECT_TRUE(says(out, empty.empty() ? "at every probe it runs through the data"
                                      : "near x = " + empty + " it runs where there is no data"))
      << "empty space at " << empty;

  // Section 3: "look like the data" only while the samples are within 1.5 times real data's distance.
  auto d = numbers(out, "samples -> training data: mean distance " + kNumber + " \\(a second draw of real data: " +
                            kNumber + "\\)");
  EXPECT_EQ(says(out, "orange samples lie on the data"), d[0] <= 1.5 * d[1]) << d[0] << " vs " << d[1];
  EXPECT_EQ(says(out, "some land in the gaps"), d[0] > 1.5 * d[1]);

  // Section 4: a weight-off-the-data explanation appears exactly where the starred weights add up to > 5%, and
  // gives their sum.
  std::regex mixture_line("p\\(z \\| x\\) = ([^\\n]*)\\n((?: *\\* ([0-9]+)% of the weight)?)");
  std::regex component(kNumber + " N\\(" + kNumber + ", " + kNumber + "\\^2\\)(\\*?)");
  int mixtures = 0;
  for (std::sregex_iterator it(out.begin(), out.end(), mixture_line), end; it != end; ++it, ++mixtures) {
    const std::string components = (*it)[1];
    double starred = 0;
    for (std::sregex_iterator c(components.begin(), components.end(), component); c != end; ++c)
      if ((*c)[4].length() > 0) starred += std::stod((*c)[1]);
    const bool explained = (*it)[3].matched;
    if (starred > 0.07) {
      EXPECT_TRUE(explained) << it->str();
    } else if (starred < 0.03) {
      EXPECT_FALSE(explained) << it->str();
    }
    if (explained) {
      EXPECT_NEAR(std::stod((*it)[3]), 100 * starred, 3) << it->str();
    }
  }
  EXPECT_EQ(mixtures, 4);

  // Section 5: the verdict follows the two "data -> generated" numbers.
  auto cover = numbers(out, "data -> generated: the probability model " + kNumber + ", " + kNumber +
                                " times real data's; the function model " + kNumber);
  EXPECT_EQ(says(out, "The probability model reaches more of the data"), cover[0] < cover[2]);

  // Section 6: where c sits, and how many bumps the samples make.
  auto c = numbers(out, "the data's density at c is " + kNumber + "% of its highest");
  EXPECT_EQ(says(out, "where data is plentiful"), c[0] > 25) << c[0];
  auto bumps = numbers(out, "the learned density has " + kNumber + " peak\\(s\\), at z =[^;]*; " + kNumber +
                                " of the data's 3 bumps are reproduced");
  EXPECT_EQ(says(out, "samples cover all three bumps"), bumps[1] == 3) << bumps[1];
  if (bumps[1] != 3) {
    EXPECT_TRUE(says(out, "samples make " + std::to_string(static_cast<int>(bumps[0])) + " bump(s)"));
  }
}

TEST(LessonClaims, Lesson03SmokeConclusionsFollowTheNumbers) {
  check_lesson03(run_lesson("03_function_vs_probability", "--smoke"));
}

// One Gaussian instead of three: the same program must now say that the samples make one bump, and the
// conclusions still follow the numbers.
TEST(LessonClaims, Lesson03WithOneComponentTheCaptionsFlip) {
  const std::string three = run_lesson("03_function_vs_probability", "--smoke");
  const std::string one = run_lesson("03_function_vs_probability", "--smoke --components 1");
  check_lesson03(one);
  EXPECT_TRUE(says(three, "samples cover all three bumps")) << three;
  EXPECT_TRUE(says(one, "samples make 1 bump(s) where the data has three")) << one;
  EXPECT_FALSE(says(one, "samples cover all three bumps"));
}

// The default run (seconds) is what the README describes: there the samples lie on the data with three
// components and stray from it with one.
TEST(LessonClaims, Lesson03DefaultRunSamplesLookRealOnlyWithThreeComponents) {
  const std::string three = run_lesson("03_function_vs_probability", "");
  const std::string one = run_lesson("03_function_vs_probability", "--components 1");
  check_lesson03(three);
  check_lesson03(one);
  EXPECT_TRUE(says(three, "orange samples lie on the data"));
  EXPECT_TRUE(says(one, "some land in the gaps"));
}

// --- lesson 05 ---

TEST(LessonClaims, Lesson05ConclusionsFollowTheNumbers) {
  const std::string out = run_lesson("05_autoencoder", "--smoke");
  auto mse = numbers(out, "mean squared error per pixel on [0-9]+ test images: " + kNumber +
                              " +\\(always the average image: " + kNumber + "\\)");
  EXPECT_EQ(says(out, "the reconstructions are very close to their inputs"), mse[0] < mse[1] / 3);
  auto inside = numbers(out, "95% of z ~ N\\(0, I\\) lie within distance " + kNumber + " of the origin; of the [0-9]+ "
                                 "test codes, " + kNumber + "% do");
  EXPECT_EQ(says(out, "The decoder only learned to draw the codes of real images"), inside[1] < 20);
  auto median = numbers(out, "lengths \\|\\|z\\|\\|: median " + kNumber + " for the codes, " + kNumber);
  EXPECT_EQ(says(out, "lie mostly beyond the red N(0, I) lengths"), median[0] > inside[0]);
  auto flat = numbers(out, "in latent dimensions 0 and 1 alone, " + kNumber + "% of the codes");
  auto caption = numbers(out, "two of [0-9]+ coordinates: " + kNumber + "% of the blue codes fall inside the red "
                                  "blob's radius, against " + kNumber + "% of whole codes");
  EXPECT_EQ(caption[0], flat[0]);
  EXPECT_EQ(caption[1], inside[1]);
}

// --- lesson 06 ---

void check_lesson06(const std::string& out) {
  auto diff = numbers(out, "between two reconstructions of the same image " + kNumber +
                               ",\\s+between a reconstruction and its input " + kNumber + " \\(the average image: " +
                               kNumber + "\\)");
  EXPECT_EQ(says(out, "NOT similar to the input"), !(diff[1] < 0.5 * diff[2])) << out;
  EXPECT_EQ(says(out, "not twice the same"), diff[0] >= 0.1 * diff[1]) << out;
  auto kl = numbers(out, "KL = -1/2 sum\\(1 \\+ logvar - mu\\^2 - exp\\(logvar\\)\\) = " + kNumber +
                             " nats; VAE::loss's KL: " + kNumber);
  EXPECT_NEAR(kl[0], kl[1], 1e-3 * std::max(1.0, kl[1]));
  EXPECT_TRUE(std::regex_search(out, std::regex("VAE::loss's KL: [0-9.]+ \\(equal\\)"))) << out;
  std::regex walk_line(": " + kNumber + "% \\((gradual|a jump[^)]*)\\)");
  int walks = 0;
  for (std::sregex_iterator it(out.begin(), out.end(), walk_line), end; it != end; ++it, ++walks)
    EXPECT_EQ((*it)[2] == "gradual", std::stod((*it)[1]) <= 25) << it->str();
  EXPECT_EQ(walks, 4);
}

TEST(LessonClaims, Lesson06ConclusionsFollowTheNumbers) { check_lesson06(run_lesson("06_vae", "--smoke")); }

// With beta = 0 the loss has no KL term; the loss curve's title must say so, and the conclusions still follow the
// numbers.
TEST(LessonClaims, Lesson06WithBetaZeroTheLossIsNamedForWhatItIs) {
  const fs::path self = fs::read_symlink("/proc/self/exe");
  const fs::path binary = self.parent_path().parent_path() / "lessons" / "06_vae";
  const fs::path out = fs::temp_directory_path() / ("hundun_claims_beta_" + std::to_string(getpid()));
  for (const std::string beta : {"1", "0"}) {
    const std::string command = "OMP_NUM_THREADS=1 " + binary.string() + " --smoke --beta " + beta + " --out " +
                                (out / beta).string() + " > " + (out.string() + beta + ".txt") + " 2>&1";
    fs::create_directories(out);
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
    check_lesson06(read_file(out.string() + beta + ".txt"));
    fs::remove(out.string() + beta + ".txt");
  }
  const std::string title1 = read_file((out / "1" / "loss_vae.svg").string());
  const std::string title0 = read_file((out / "0" / "loss_vae.svg").string());
  EXPECT_TRUE(says(title1, "negative ELBO per image (reconstruction + KL)"));
  EXPECT_TRUE(says(title0, "beta = 0: no KL term"));
  EXPECT_FALSE(says(title0, "reconstruction + KL"));
  fs::remove_all(out);
}

// --- lesson 07 ---

TEST(LessonClaims, Lesson07ConclusionsFollowTheNumbers) {
  const std::string out = run_lesson("07_ae_vs_vae", "--smoke");
  auto ratio = numbers(out, "FD of the VAE's samples " + kNumber + " / FD of the autoencoder's " + kNumber + " = " +
                                kNumber);
  EXPECT_EQ(says(out, "The claim holds"), ratio[0] / ratio[1] <= 0.7) << out;
  EXPECT_EQ(std::regex_search(out, std::regex("the VAE's is [0-9]+% lower")), ratio[0] <= ratio[1]);
  auto z = numbers(out, "The VAE's codes z (?:do not )?match N\\(0, 1\\) \\(mean " + kNumber + ", sd " + kNumber);
  EXPECT_EQ(says(out, "The VAE's codes z match"), std::abs(z[0]) < 0.1 && std::abs(z[1] - 1) < 0.1) << out;
  auto variance = numbers(out, "var\\(z\\) " + kNumber + " = var\\(mu\\) " + kNumber + " \\+ mean sigma\\^2 " +
                                   kNumber + " \\(sum " + kNumber);
  EXPECT_NEAR(variance[1] + variance[2], variance[3], 0.0015);
  auto inside = numbers(out, kNumber + "% of the autoencoder's codes lie within");
  EXPECT_EQ(says(out, "but a whole z does not"), inside[0] < 20);
  auto copies = numbers(out, "VAE: decoder\\(z\\), z ~ N\\(0, I\\) +" + kNumber + " +" + kNumber + " +" + kNumber + "%");
  EXPECT_EQ(says(out, "全新: new images"), copies[2] <= 20) << out;
}

// Lesson 08: the ring's verdict follows the last snapshot rows, the loss reading follows the settled L_D, the
// saturation factor is the table's ratio, and a smoke run's DCGAN comparison claims nothing.
TEST(LessonClaims, Lesson08ConclusionsFollowTheNumbers) {
  const std::string out = run_lesson("08_gan", "--smoke");
  const std::string kl = "([0-9]+(?:\\.[0-9]+)?|inf)";  // no high-quality sample at all: KL is infinite
  auto end = numbers(out, "At the end: plain GAN " + kNumber + "/8 modes, " + kNumber + "% high quality, reverse KL " +
                              kl + "; PacGAN " + kNumber + "/8, " + kNumber + "%, " + kl);
  EXPECT_TRUE(says(out, "a smoke run plays")) << out;
  auto settled = numbers(out, "mean L_D " + kNumber);
  EXPECT_EQ(says(out, "L_D near 0: D wins"), settled[0] < 0.3) << out;
  EXPECT_EQ(says(out, "L_D near 2 log 2"), settled[0] > 1.2) << out;
  auto slopes = numbers(out, "-8.0 +" + kNumber + " +" + kNumber);
  auto factor = numbers(out, "gives G a gradient " + kNumber + " times smaller");
  EXPECT_NEAR(factor[0], slopes[1] / slopes[0], 0.05 * factor[0]) << out;  // the table rounds the slopes
  EXPECT_TRUE(says(out, "the numbers above judge nothing yet")) << out;
  EXPECT_FALSE(says(out, "look more like real clothes")) << out;
  auto walk = numbers(out, "differ by " + kNumber + " pixels \\(L2\\) on average, " + kNumber + " at most");
  EXPECT_EQ(says(out, "is a jump"), walk[1] > 2.5 * walk[0]) << out;
  EXPECT_GE(end.size(), 6u);
}

// --- all lessons: a lesson named in a lesson's text exists ---

TEST(LessonClaims, EveryLessonNamedInTheLessonsExists) {
  const fs::path root = HUNDUN_SOURCE_DIR;
  std::regex mention("[Ll]essons? ([0-9]{2})(?:(?:-|–|, | and )([0-9]{2}))?");
  for (const auto& dir : fs::directory_iterator(root / "lessons")) {
    if (!dir.is_directory()) continue;
    for (const auto& file : fs::directory_iterator(dir.path())) {
      const std::string text = read_file(file.path().string());
      for (std::sregex_iterator it(text.begin(), text.end(), mention), end; it != end; ++it)
        for (int g = 1; g <= 2; ++g) {
          if (!(*it)[g].matched) continue;
          bool found = false;
          for (const auto& lesson : fs::directory_iterator(root / "lessons"))
            found |= lesson.path().filename().string().rfind((*it)[g].str() + "_", 0) == 0;
          EXPECT_TRUE(found) << file.path() << " names " << it->str() << ", and there is no lessons/"
                             << (*it)[g].str() << "_*";
        }
    }
  }
}

}  // namespace
