// hundun — the command-line tool: train, evaluate and sample the lecture's models.
//
//   hundun --help
//   hundun train classifier --epochs 3 --out out/classifier
//   hundun eval classifier --ckpt out/classifier/checkpoint.safetensors
//
// This file only dispatches: it finds the command named by the first words (see cli/command.h for
// the table and how a command registers itself), runs it, and turns whatever it throws into one
// line on stderr and an exit code — 2 for a usage mistake, 1 for a failure — never a crash trace.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/command.h"

namespace {

using hd::cli::Command;
using hd::cli::find_command;
using hd::cli::split_words;

// The commands whose first word is `group` ("train" -> train classifier, train vae, ...); all when empty.
std::string command_list(const std::string& group) {
  std::string out;
  for (const Command& c : hd::cli::commands())
    if (group.empty() || split_words(c.name)[0] == group) out += fmt::format("  {:<22}  {}\n", c.name, c.summary);
  return out;
}

std::string usage() {
  return "usage: hundun <command> [flags]      (hundun <command> --help for its flags)\n\n"
         "hundun trains and samples the generative models of the lecture on Fashion-MNIST.\n\ncommands:\n" +
         command_list("");
}

// Exception messages become exactly one line, whatever they contain.
std::string one_line(std::string message) {
  for (char& c : message)
    if (c == '\n' || c == '\r') c = ' ';
  return message;
}

int fail(const std::string& who, const std::string& message, int code) {
  std::fflush(stdout);  // what was printed so far comes before the error
  std::fprintf(stderr, "%s: %s\n", who.c_str(), one_line(message).c_str());
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> words(argv + 1, argv + argc);
  if (words.empty()) {
    std::fputs(usage().c_str(), stderr);
    return 2;
  }
  if (words[0] == "--help" || words[0] == "-h" || words[0] == "help") {
    std::fputs(usage().c_str(), stdout);
    return 0;
  }

  const Command* command = find_command(words);
  if (!command) {
    // A group word alone ("hundun train") or with --help lists that group; anything else is unknown.
    std::string group = command_list(words[0]);
    bool asks_help = words.size() == 2 && (words[1] == "--help" || words[1] == "-h");
    if (!group.empty() && (words.size() == 1 || asks_help)) {
      std::fputs(fmt::format("usage: hundun {} <what> [flags]\n\ncommands:\n{}", words[0], group).c_str(),
                 asks_help ? stdout : stderr);
      return asks_help ? 0 : 2;
    }
    std::string typed = words[0] + (words.size() > 1 && words[1][0] != '-' ? " " + words[1] : "");
    return fail("hundun", fmt::format("unknown command '{}' (see 'hundun --help')", typed), 2);
  }

  const std::vector<std::string> args(words.begin() + static_cast<long>(split_words(command->name).size()),
                                      words.end());
  const std::string who = "hundun " + command->name;
  try {
    return command->run(args);
  } catch (const hd::cli::UsageError& e) {
    return fail(who, e.what(), 2);
  } catch (const std::exception& e) {
    return fail(who, std::string("error: ") + e.what(), 1);
  } catch (...) {
    return fail(who, "error: unknown exception", 1);
  }
}
