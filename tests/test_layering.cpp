// The architecture's layers, checked on the sources themselves: tensor knows no gradients, autograd knows no
// modules, nn knows no model, models know no lesson or command. Each folder may include only the folders
// listed for it below; a new #include across a layer fails this test, naming the file and the line.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>

namespace hd {

namespace fs = std::filesystem;

// The source tree, found from this test binary's place: <repo>/build*/tests/test_layering.
static fs::path repo_root() {
  return fs::read_symlink("/proc/self/exe").parent_path().parent_path().parent_path();
}

TEST(Layering, EachFolderIncludesOnlyTheLayersBelowIt) {
  const std::map<std::string, std::set<std::string>> allowed = {
      {"tensor", {"tensor"}},
      {"autograd", {"tensor", "autograd"}},
      {"nn", {"tensor", "autograd", "nn"}},
      {"data", {"tensor", "data"}},
      {"report", {"tensor", "data", "report"}},
      {"metrics", {"tensor", "autograd", "metrics"}},
      {"train", {"tensor", "autograd", "nn", "data", "report", "train"}},
      {"models", {"tensor", "autograd", "nn", "data", "metrics", "models"}},
      {"cli", {"tensor", "autograd", "nn", "data", "report", "metrics", "train", "models", "cli"}},
      {"lessons", {"tensor", "autograd", "nn", "data", "report", "metrics", "train", "models", "lessons"}},
  };
  const fs::path root = repo_root();
  ASSERT_TRUE(fs::exists(root / "tensor" / "tensor.h")) << "no sources at " << root;
  const std::regex include("^\\s*#include \"([a-z_]+)/");
  int files = 0;
  for (const auto& [folder, may] : allowed) {
    for (const auto& entry : fs::recursive_directory_iterator(root / folder)) {
      const std::string ext = entry.path().extension().string();
      if (ext != ".h" && ext != ".cpp") continue;
      ++files;
      std::ifstream in(entry.path());
      std::string line;
      for (int n = 1; std::getline(in, line); ++n) {
        std::smatch m;
        if (std::regex_search(line, m, include) && !may.count(m[1].str()))
          ADD_FAILURE() << fs::relative(entry.path(), root).string() << ":" << n << " includes " << m[1].str()
                        << "/, which " << folder << "/ may not depend on";
      }
    }
  }
  EXPECT_GT(files, 50);  // the scan saw the tree
}

}  // namespace hd
