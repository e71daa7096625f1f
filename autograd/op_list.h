// op_list.h — the names of every differentiable op in hundun.
//
// One list, so that tests/test_op_coverage.cpp can check each op has a finite-difference
// gradcheck and a PyTorch fixture test. record_op refuses an op name missing from it:
// adding an op means adding it here, to tests/op_cases.h, and to the fixture script.
#pragma once

#include <string>
#include <vector>

namespace hd {

const std::vector<std::string>& differentiable_ops();
bool is_differentiable_op(const char* name);

}  // namespace hd
