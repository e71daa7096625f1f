// Every differentiable op (autograd/op_list.cpp) has a test case (op_cases.h, run by the gradcheck
// and PyTorch tests) and reference values in the fixture file.
#include <gtest/gtest.h>

#include <set>

#include "autograd/op_list.h"
#include "op_cases.h"
#include "op_fixtures.h"

namespace hd::test {

TEST(OpCoverage, EveryDifferentiableOpHasACase) {
  std::set<std::string> covered;
  for (const auto& c : op_cases()) covered.insert(c.op);
  for (const auto& op : differentiable_ops()) EXPECT_TRUE(covered.count(op)) << op << " has no case in tests/op_cases.h";
}

TEST(OpCoverage, EveryCaseNamesAListedOp) {
  for (const auto& c : op_cases())
    EXPECT_TRUE(is_differentiable_op(c.op.c_str())) << c.name << " names '" << c.op << "', not in autograd/op_list.cpp";
}

TEST(OpCoverage, EveryCaseHasAPyTorchFixture) {
  for (const auto& c : op_cases())
    EXPECT_TRUE(has_fixture_case(c.name)) << c.name
                                          << " is missing from tests/fixtures/ops.safetensors (add it to "
                                             "tests/reference/make_op_fixtures.py and rerun it)";
}

TEST(OpCoverage, UnlistedOpIsRefused) {
  Variable x(Tensor::ones({2}), true);
  try {
    record_op("not_a_listed_op", x.data(), {x}, [](const Variable& g, const Variable&) { return std::vector<Variable>{g}; });
    FAIL() << "record_op accepted an op missing from op_list.cpp";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("not_a_listed_op"), std::string::npos);
  }
}

}  // namespace hd::test
