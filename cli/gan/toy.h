// The 2-D toy run of `hundun train gan --toy ring|grid` (cli/gan/toy.cpp).
#pragma once

#include <string>
#include <vector>

namespace hd::cli {

// The words after "train gan", which hold --toy: trains models/gan_toy.h's GAN, prints the mode metrics and
// writes the scatter plots. Returns the exit code.
int train_toy_gan(const std::vector<std::string>& words);

}  // namespace hd::cli
