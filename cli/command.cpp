#include "cli/command.h"

#include <fmt/format.h>

#include <algorithm>

namespace hd::cli {

namespace {
// A function-local static: built on first use, so registrations from other files' static
// initialisers never run before it exists (whatever order the linker chose).
std::vector<Command>& table() {
  static std::vector<Command> commands;
  return commands;
}
}  // namespace

bool register_command(Command command) {
  auto& t = table();
  t.push_back(std::move(command));
  std::sort(t.begin(), t.end(), [](const Command& a, const Command& b) { return a.name < b.name; });
  return true;
}

const std::vector<Command>& commands() { return table(); }

bool parse_or_print_help(ArgParser& args, const std::vector<std::string>& words) {
  args.parse(words);
  if (args.help_requested()) fmt::print("{}", args.help());
  return args.help_requested();
}

void print_wrote(const std::string& path, const std::string& what) { fmt::print("  wrote {}  ({})\n", path, what); }

}  // namespace hd::cli
