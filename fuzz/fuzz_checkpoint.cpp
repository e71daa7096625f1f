// fuzz_checkpoint — a checkpoint on its way to a model, as the hundun command takes it: read_checkpoint_info, then
// cli/model_files.h's load_any_model, which finds the family from the metadata ("model"), reads its options
// (nn/metadata.h read_model_metadata, each family's Options::from_metadata), builds the model and loads the weights.
// Then load_checkpoint into a fixed small model with an optimizer, an EMA and a generator, so that their state checks
// are reached too. The models stay small: every size the metadata sets is pinned to a tensor the (small) input holds.
#include <cstdint>
#include <memory>
#include <stdexcept>

#include "cli/model_files.h"
#include "fuzz/fuzz_input.h"
#include "nn/checkpoint.h"
#include "nn/ema.h"
#include "nn/layers.h"
#include "nn/optim.h"
#include "tensor/random.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static hd::fuzz::InputFile input("checkpoint.safetensors");
  const std::string& path = input.write(data, size);

  try {
    hd::read_checkpoint_info(path);
  } catch (const std::exception& e) {
    hd::fuzz::expect_names(e, path);
  }

  try {
    hd::cli::load_any_model(path);
  } catch (const std::exception& e) {
    hd::fuzz::expect_names(e, path);
  }

  // The small model of fuzz/make_corpus.cpp's "training_state" seed: Linear(3, 2), ReLU, Linear(2, 1).
  hd::Generator gen(1);
  hd::Sequential model({std::make_shared<hd::Linear>(3, 2, gen), std::make_shared<hd::ReLU>(),
                        std::make_shared<hd::Linear>(2, 1, gen)});
  hd::Adam optimizer(model.parameters());
  hd::EMA ema(model, 0.99f);
  try {
    hd::load_checkpoint(path, model, &optimizer, &gen, &ema);
  } catch (const std::exception& e) {
    hd::fuzz::expect_names(e, path);
  }
  return 0;
}
