// args.h — the flags of one `hundun` command: declared with their help text, parsed, then read back
// typed and checked.
//
//   ArgParser args("hundun train classifier", "Train the Fashion-MNIST classifier.");
//   args.option("--epochs", "N", "passes over the training set", "3");
//   args.flag("--quiet", "no progress line");
//   args.parse(words);                        // throws UsageError for unknown flags, missing values
//   if (args.help_requested()) { fmt::print("{}", args.help()); return 0; }   // (cli/command.h: both in one)
//   int64_t epochs = args.get_int("--epochs", 1, 1000);   // throws UsageError for "-3" or "abc"
//
// Both "--epochs 3" and "--epochs=3" work. A value may start with '-' ("--shift -1"): whatever follows
// an option is its value. Every problem is a UsageError whose message is one line naming the flag, the
// value given and what was expected; the program prints it and exits with code 2.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace hd::cli {

// A mistake on the command line (as opposed to a failure while running): exit code 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ArgParser {
 public:
  // usage: the command as typed ("hundun train classifier"); description: one or more lines for --help.
  ArgParser(std::string usage, std::string description);

  // A flag with a value ("--epochs N"). An empty default means "not set" (get() returns "").
  void option(const std::string& name, const std::string& metavar, const std::string& help,
              const std::string& default_value = "");
  // A flag without a value ("--full"): false unless given.
  void flag(const std::string& name, const std::string& help);

  // Reads the words after the command's name. --help / -h anywhere sets help_requested() (and skips
  // every other check). Throws UsageError for an unknown flag, a missing value, a flag given twice or
  // a positional argument.
  void parse(const std::vector<std::string>& words);
  bool help_requested() const { return help_requested_; }
  // "usage: hundun train classifier [flags]", the description, then one line per flag with its default.
  std::string help() const;

  // --- reading values back (all throw std::logic_error for a name that was never declared) ---
  bool given(const std::string& name) const;      // on the command line, not merely defaulted
  bool declared(const std::string& name) const;   // a flag of this command (declared by option or flag)
  std::string get(const std::string& name) const;  // the value, or the default
  bool get_flag(const std::string& name) const;
  // An integer in [min, max]; throws UsageError "--epochs expects an integer from 1 to 1000, got '-3'".
  int64_t get_int(const std::string& name, int64_t min, int64_t max) const;
  // A finite number with min < value <= max (exclusive below: a learning rate must be > 0).
  double get_double(const std::string& name, double min_exclusive, double max) const;
  // A value the command cannot run without; throws UsageError "--ckpt FILE is required".
  std::string get_required(const std::string& name) const;
  // One of `choices`; throws UsageError "--model expects one of cnn, mlp, got 'x'".
  std::string get_choice(const std::string& name, const std::vector<std::string>& choices) const;

 private:
  struct Spec {
    std::string name, metavar, help, default_value;
    bool takes_value;
  };
  const Spec& spec(const std::string& name) const;

  std::string usage_, description_;
  std::vector<Spec> specs_;                     // in declaration order, for help()
  std::map<std::string, std::string> values_;  // flags given on the command line
  bool help_requested_ = false;
};

// Parses a whole string as a number (no trailing characters, no overflow, finite); false otherwise.
bool parse_int(const std::string& text, int64_t* out);
bool parse_double(const std::string& text, double* out);

}  // namespace hd::cli
