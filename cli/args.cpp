#include "cli/args.h"

#include <fmt/format.h>

#include <algorithm>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>

namespace hd::cli {

bool parse_int(const std::string& text, int64_t* out) {
  const char* begin = text.data();
  const char* end = begin + text.size();
  if (begin != end && *begin == '+') ++begin;  // from_chars takes no '+'; people type it
  auto [ptr, ec] = std::from_chars(begin, end, *out);
  return !text.empty() && ec == std::errc() && ptr == end;
}

bool parse_double(const std::string& text, double* out) {
  // strtod skips leading spaces and accepts "inf" / "nan"; neither is a sensible flag value.
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0]))) return false;
  errno = 0;
  char* end = nullptr;
  *out = std::strtod(text.c_str(), &end);
  return *end == '\0' && errno == 0 && std::isfinite(*out);
}

ArgParser::ArgParser(std::string usage, std::string description)
    : usage_(std::move(usage)), description_(std::move(description)) {}

void ArgParser::option(const std::string& name, const std::string& metavar, const std::string& help,
                       const std::string& default_value) {
  specs_.push_back({name, metavar, help, default_value, /*takes_value=*/true});
}

void ArgParser::flag(const std::string& name, const std::string& help) {
  specs_.push_back({name, "", help, "", /*takes_value=*/false});
}

const ArgParser::Spec& ArgParser::spec(const std::string& name) const {
  for (const Spec& s : specs_)
    if (s.name == name) return s;
  throw std::logic_error("ArgParser: flag " + name + " was never declared");
}

void ArgParser::parse(const std::vector<std::string>& words) {
  for (const std::string& w : words)
    if (w == "--help" || w == "-h") {
      help_requested_ = true;
      return;
    }
  const std::string see_help = fmt::format("(see '{} --help')", usage_);
  for (size_t i = 0; i < words.size(); ++i) {
    std::string name = words[i], value;
    bool inline_value = false;  // "--epochs=3"
    if (size_t eq = name.find('='); name.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      inline_value = true;
    }
    if (name.empty() || name[0] != '-') throw UsageError(fmt::format("unexpected argument '{}' {}", name, see_help));
    const Spec* s = nullptr;
    for (const Spec& candidate : specs_)
      if (candidate.name == name) s = &candidate;
    if (!s) throw UsageError(fmt::format("unknown flag '{}' {}", name, see_help));
    if (values_.count(name)) throw UsageError(fmt::format("{} is given twice", name));
    if (!s->takes_value) {
      if (inline_value) throw UsageError(fmt::format("{} takes no value, got '{}'", name, value));
      values_[name] = "1";
      continue;
    }
    if (!inline_value) {
      if (i + 1 >= words.size()) throw UsageError(fmt::format("{} needs a value ({})", name, s->metavar));
      value = words[++i];
    }
    values_[name] = value;
  }
}

std::string ArgParser::help() const {
  std::string out = fmt::format("usage: {} [flags]\n\n{}\n", usage_, description_);
  if (specs_.empty()) return out;
  out += "\nflags:\n";
  std::vector<std::string> left;
  size_t width = 0;
  for (const Spec& s : specs_) {
    left.push_back(s.takes_value ? s.name + " " + s.metavar : s.name);
    width = std::max(width, left.back().size());
  }
  for (size_t i = 0; i < specs_.size(); ++i) {
    const Spec& s = specs_[i];
    std::string line = "  " + left[i] + std::string(width - left[i].size() + 2, ' ') + s.help;
    if (!s.default_value.empty()) line += fmt::format(" (default {})", s.default_value);
    out += line + "\n";
  }
  out += "  --help" + std::string(width - 6 + 2, ' ') + "show this help\n";
  return out;
}

bool ArgParser::declared(const std::string& name) const {
  return std::any_of(specs_.begin(), specs_.end(), [&](const Spec& s) { return s.name == name; });
}

bool ArgParser::given(const std::string& name) const {
  spec(name);
  return values_.count(name) > 0;
}

std::string ArgParser::get(const std::string& name) const {
  const Spec& s = spec(name);
  auto it = values_.find(name);
  return it != values_.end() ? it->second : s.default_value;
}

bool ArgParser::get_flag(const std::string& name) const { return given(name); }

int64_t ArgParser::get_int(const std::string& name, int64_t min, int64_t max) const {
  const std::string text = get(name);
  int64_t value = 0;
  if (!parse_int(text, &value) || value < min || value > max)
    throw UsageError(fmt::format("{} expects an integer from {} to {}, got '{}'", name, min, max, text));
  return value;
}

double ArgParser::get_double(const std::string& name, double min_exclusive, double max) const {
  const std::string text = get(name);
  double value = 0;
  if (!parse_double(text, &value) || !(value > min_exclusive) || value > max)
    throw UsageError(fmt::format("{} expects a number greater than {} and at most {}, got '{}'", name,
                                 min_exclusive, max, text));
  return value;
}

std::string ArgParser::get_required(const std::string& name) const {
  const Spec& s = spec(name);
  std::string value = get(name);
  if (value.empty()) throw UsageError(fmt::format("{} {} is required", name, s.metavar));
  return value;
}

std::string ArgParser::get_choice(const std::string& name, const std::vector<std::string>& choices) const {
  const std::string value = get(name);
  std::string listed;
  for (const std::string& c : choices) {
    if (c == value) return value;
    listed += (listed.empty() ? "" : ", ") + c;
  }
  throw UsageError(fmt::format("{} expects one of {}, got '{}'", name, listed, value));
}

}  // namespace hd::cli
