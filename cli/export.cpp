// `hundun export` — a training checkpoint made small enough to ship: the model's weights and the
// metadata, without Adam's moments (two more copies of every weight) or the random generator.
//
//   hundun export --ckpt out/vae/checkpoint.safetensors --out weights/vae.safetensors
//
// Works for every checkpoint `hundun train ...` writes: the model is rebuilt from the metadata, the
// weights loaded (so a damaged file is caught here, not by whoever downloads it) and saved again with
// save_checkpoint(path, model, nullptr, nullptr, info). The result loads wherever the full checkpoint
// did, except into --resume, which needs the optimizer.
#include <fmt/format.h>

#include <filesystem>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/model_files.h"
#include "cli/paths.h"

namespace hd::cli {
namespace {

int export_weights(const std::vector<std::string>& words) {
  ArgParser args("hundun export",
                 "Copies a checkpoint of any 'hundun train ...' without the optimizer's state and the\n"
                 "generator: the model's weights, the step, the epoch and the metadata only.");
  args.option("--ckpt", "FILE", "the training checkpoint");
  args.option("--out", "FILE", "where the weights go");
  if (parse_or_print_help(args, words)) return 0;
  const std::string ckpt = args.get_required("--ckpt"), out = args.get_required("--out");
  refuse_overwriting_inputs({{"--out", out}}, {{"--ckpt", ckpt}});

  // Whatever family the file holds (cli/model_files.h): rebuilt from the metadata, weights loaded and checked.
  const AnyModel any = load_any_model(ckpt);
  const CheckpointInfo& info = any.info;
  const std::string description = any.model->describe();
  save_checkpoint(out, *any.model, nullptr, nullptr, info);
  const double mb = static_cast<double>(std::filesystem::file_size(out)) / 1e6;
  fmt::print("{}: {}, epoch {}, step {}\n", ckpt, description, info.epoch, info.step);
  print_wrote(out, fmt::format("model weights and metadata, {:.2f} MB", mb));
  return 0;
}

const bool registered = register_command(
    {"export", "strip a training checkpoint down to the model's weights (for shipping)", export_weights});

}  // namespace
}  // namespace hd::cli
