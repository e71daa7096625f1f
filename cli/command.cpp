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

std::vector<std::string> split_words(const std::string& s) {
  std::vector<std::string> words;
  size_t start = 0;
  while (start < s.size()) {
    size_t end = s.find(' ', start);
    if (end == std::string::npos) end = s.size();
    if (end > start) words.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return words;
}

const Command* find_command(const std::vector<std::string>& words) {
  const Command* best = nullptr;
  size_t best_length = 0;
  for (const Command& c : table()) {
    std::vector<std::string> name = split_words(c.name);
    if (name.size() > words.size() || name.size() <= best_length) continue;
    if (std::equal(name.begin(), name.end(), words.begin())) {
      best = &c;
      best_length = name.size();
    }
  }
  return best;
}

bool parse_or_print_help(ArgParser& args, const std::vector<std::string>& words) {
  args.parse(words);
  if (args.help_requested()) fmt::print("{}", args.help());
  return args.help_requested();
}

void print_wrote(const std::string& path, const std::string& what) { fmt::print("  wrote {}  ({})\n", path, what); }

}  // namespace hd::cli
