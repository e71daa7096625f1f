// Every differentiable op is tested: each function autograd/ declares has a case in op_cases.h (run by
// the gradchecks and the PyTorch tests), every case has PyTorch's values in the fixture file, and every
// op name recorded with record_op in autograd/*.cpp is reached by some case, in its forward or in its
// backward differentiated again. Both lists are read from the sources, so a new op without a test
// fails here, naming it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "op_cases.h"
#include "op_fixtures.h"

namespace hd::test {

namespace fs = std::filesystem;

// The source tree, found from this test binary's place: <repo>/build*/tests/test_op_coverage.
static fs::path repo_root() { return fs::read_symlink("/proc/self/exe").parent_path().parent_path().parent_path(); }

static std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// name -> file, for each match of `pattern`'s first group in autograd/*<ext>.
static std::map<std::string, std::string> scan_autograd(const std::string& ext, const std::regex& pattern) {
  std::map<std::string, std::string> found;
  for (const auto& entry : fs::directory_iterator(repo_root() / "autograd")) {
    if (entry.path().extension() != ext) continue;
    const std::string text = read_text(entry.path());
    for (std::sregex_iterator m(text.begin(), text.end(), pattern), end; m != end; ++m)
      found.emplace((*m)[1].str(), "autograd/" + entry.path().filename().string());
  }
  return found;
}

// The functions a user calls: `Variable name(` at the start of a line in autograd/*.h, except the
// engine's own (record_op) and helpers that are not ops of their own.
static std::map<std::string, std::string> declared_functions() {
  auto found = scan_autograd(".h", std::regex("(?:^|\\n)Variable ([a-z_0-9]+)\\("));
  for (const char* not_an_op : {"record_op", "reduce"}) found.erase(not_an_op);
  return found;
}

// Every name given to record_op("...", ...) in autograd/*.cpp.
static std::map<std::string, std::string> recorded_ops() {
  return scan_autograd(".cpp", std::regex("record_op\\(\\s*\"([a-z_0-9]+)\""));
}

// The ops in the graph behind v.
static void collect_ops(const std::shared_ptr<Node>& node, std::set<const Node*>& seen, std::set<std::string>& ops) {
  if (!node || !seen.insert(node.get()).second) return;
  if (!node->is_accumulator) ops.insert(node->op);
  for (const auto& input : node->inputs) collect_ops(input, seen, ops);
}

TEST(OpCoverage, TheSourceScanSeesTheOps) {
  // If the patterns stopped matching, the tests below would pass on nothing.
  EXPECT_GT(declared_functions().size(), 50u);
  EXPECT_GT(recorded_ops().size(), 40u);
  EXPECT_TRUE(declared_functions().count("conv_transpose2d"));
  EXPECT_TRUE(recorded_ops().count("exp"));  // written over two lines: record_op(\n "exp", ...
}

TEST(OpCoverage, EveryFunctionHasACase) {
  std::set<std::string> covered;
  for (const auto& c : op_cases()) covered.insert(c.op);
  for (const auto& [name, file] : declared_functions())
    EXPECT_TRUE(covered.count(name)) << name << " (declared in " << file << ") has no case in tests/op_cases.h";
}

TEST(OpCoverage, EveryCaseNamesADeclaredFunction) {
  const auto declared = declared_functions();
  for (const auto& c : op_cases())
    EXPECT_TRUE(declared.count(c.op)) << c.name << " names '" << c.op << "', which no autograd/*.h declares";
}

TEST(OpCoverage, EveryRecordedOpIsReachedByACase) {
  std::set<std::string> reached;
  for (const auto& c : op_cases()) {
    FixtureCase f = load_fixture_case(c.name);
    Vars x;
    for (const auto& t : f.inputs) x.push_back(Variable(t, /*requires_grad=*/true));
    Variable out = c.fn(x, f.consts);
    std::set<const Node*> seen;
    collect_ops(out.grad_fn(), seen, reached);
    if (!c.twice_differentiable) continue;
    // The ops the backward rules record (conv2d_weight inside conv2d's rule, binary_cross_entropy_backward).
    for (const Variable& g : grad(out, x, Variable(f.gout), {.create_graph = true}))
      if (g.defined()) collect_ops(g.grad_fn(), seen, reached);
  }
  for (const auto& [op, file] : recorded_ops())
    EXPECT_TRUE(reached.count(op)) << "'" << op << "' is recorded in " << file
                                   << " but no case in tests/op_cases.h reaches it: add one (and its fixture)";
}

TEST(OpCoverage, EveryCaseHasAPyTorchFixture) {
  for (const auto& c : op_cases())
    EXPECT_TRUE(has_fixture_case(c.name)) << c.name
                                          << " is missing from tests/fixtures/ops.safetensors (add it to "
                                             "tests/reference/make_op_fixtures.py and rerun it)";
}

}  // namespace hd::test
