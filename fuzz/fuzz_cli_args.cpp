// fuzz_cli_args — the command line up to the point where a command starts working: the input is argv (words
// separated by NUL bytes), matched against the registered commands (cli/command.h find_command, as main() does),
// then the rest parsed by cli/args.h's ArgParser declared with the flags of `hundun train classifier` and
// `hundun sample`, every value read back typed and checked as the commands read them, and the paths compared by
// cli/paths.h (which only looks at the file system). Nothing is trained, loaded or written. A finding besides
// crashes: any exception other than a UsageError (a logic_error from the parser, an out_of_range, ...).
#include <cstdint>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/paths.h"
#include "fuzz/fuzz_input.h"

namespace {

using hd::cli::ArgParser;

ArgParser declared_flags() {
  ArgParser args("hundun fuzz", "The flags of 'train classifier' and 'sample'.");
  args.option("--epochs", "N", "passes", "3");
  args.option("--batch", "B", "images per step", "128");
  args.option("--lr", "LR", "learning rate", "0.001");
  args.option("--seed", "S", "seed", "0");
  args.option("--model", "NAME", "cnn or mlp", "cnn");
  args.option("--data", "DIR", "data folder", "/usr/share/datasets/fashion-mnist");
  args.option("--out", "DIR", "output");
  args.option("--resume", "CKPT", "checkpoint to resume");
  args.option("--ckpt", "FILE", "checkpoint");
  args.option("--tensor", "FILE", "samples as a tensor");
  args.option("-n", "N", "how many", "64");
  args.option("--train-size", "N", "training images", "0");
  args.flag("--full", "longer");
  return args;
}

// Each reading as a command does it; a UsageError is the expected answer to a bad value.
template <typename F>
void read(F f) {
  try {
    f();
  } catch (const hd::cli::UsageError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> words(1);
  for (size_t i = 0; i < size && words.size() <= 64; ++i) {
    if (data[i] == 0) words.emplace_back();
    else words.back() += static_cast<char>(data[i]);
  }

  try {
    size_t skip = 0;
    if (const hd::cli::Command* command = hd::cli::find_command(words)) skip = hd::cli::split_words(command->name).size();
    const std::vector<std::string> rest(words.begin() + static_cast<std::ptrdiff_t>(skip), words.end());

    ArgParser args = declared_flags();
    try {
      args.parse(rest);
    } catch (const hd::cli::UsageError&) {
      return 0;
    }
    if (args.help_requested()) {
      args.help();
      return 0;
    }
    read([&] { args.get_int("--epochs", 1, 100000); });
    read([&] { args.get_int("--batch", 1, 1 << 20); });
    read([&] { args.get_double("--lr", 0.0, 10.0); });
    read([&] { args.get_int("--seed", 0, INT64_MAX); });
    read([&] { args.get_choice("--model", {"cnn", "mlp"}); });
    read([&] { args.get_int("-n", 1, 100000); });
    read([&] { args.get_int("--train-size", 0, 1 << 30); });
    read([&] { args.get_required("--ckpt"); });
    args.get_flag("--full");
    read([&] {
      hd::cli::refuse_overwriting_inputs({{"--out", args.get("--out")}, {"--tensor", args.get("--tensor")}},
                                         {{"--ckpt", args.get("--ckpt")}, {"--resume", args.get("--resume")},
                                          {"--data", args.get("--data")}});
    });
  } catch (const std::exception& e) {
    hd::fuzz::finding(std::string("the command line gave an exception other than a UsageError: ") + e.what());
  }
  return 0;
}
