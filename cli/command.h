// command.h — the table of `hundun` commands.
//
// Each command lives in its own file (cli/train_classifier.cpp, ...) and adds itself to the table
// with one line at file scope:
//
//   static const bool registered = hd::cli::register_command(
//       {"train classifier", "train the Fashion-MNIST classifier", train_classifier});
//
// main() (cli/main.cpp) matches the first words of the command line against the names, passes the
// remaining words to `run`, and turns exceptions into one-line messages and exit codes:
//   0  success (or --help)
//   1  a failure while running (missing file, damaged checkpoint, I/O error): any std::exception
//   2  a mistake on the command line: UsageError (cli/args.h)
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "cli/args.h"

namespace hd::cli {

struct Command {
  std::string name;     // the words that select it, space-separated: "train classifier"
  std::string summary;  // one line for `hundun --help`
  // Runs with the words after the name; returns the exit code.
  std::function<int(const std::vector<std::string>& args)> run;
};

// Adds a command (static initialisation calls this, before main). Returns true, for the
// `static const bool registered = ...` idiom.
bool register_command(Command command);
// Every registered command, sorted by name.
const std::vector<Command>& commands();

// The registered command whose name is the longest prefix of `words` ("train vae --epochs 3" -> "train vae"), or
// nullptr. main() runs it with the words after its name.
const Command* find_command(const std::vector<std::string>& words);
// "train vae" -> {"train", "vae"}: a command's name as words (runs of spaces count as one).
std::vector<std::string> split_words(const std::string& s);

// What every command does first: args.parse(words), and with --help, prints args.help() and returns true
// (the command then returns 0 without reading any flag):
//   if (parse_or_print_help(args, words)) return 0;
bool parse_or_print_help(ArgParser& args, const std::vector<std::string>& words);

// "  wrote out/classifier/loss.svg  (training loss per step)": the line every command prints per file.
void print_wrote(const std::string& path, const std::string& what);

}  // namespace hd::cli
