#include "cli/model_files.h"

#include <fmt/format.h>

#include <algorithm>

#include "cli/args.h"
#include "cli/command.h"

namespace hd::cli {

static std::vector<ModelFamily>& families() {
  static std::vector<ModelFamily> all;
  return all;
}

bool register_family(ModelFamily family) {
  families().push_back(std::move(family));
  return true;
}

static bool reads(const ModelFamily& f, const std::string& model) {
  return f.name == model || std::find(f.model_entries.begin(), f.model_entries.end(), model) != f.model_entries.end();
}

const ModelFamily* family_of(const std::map<std::string, std::string>& metadata) {
  auto model = metadata.find("model");
  if (model == metadata.end()) return nullptr;
  for (const ModelFamily& f : families())
    if (reads(f, model->second)) return &f;
  return nullptr;
}

static const ModelFamily* family_named(const std::string& name) {
  for (const ModelFamily& f : families())
    if (f.name == name) return &f;
  return nullptr;
}

CheckpointInfo check_family(const std::string& path, const std::string& expected, const std::string& verb) {
  CheckpointInfo info = read_checkpoint_info(path);
  const ModelFamily* want = family_named(expected);
  const std::string wanted = want ? want->title : "a '" + expected + "' model";
  const ModelFamily* found = family_of(info.metadata);
  if (found && found->name == expected) return info;
  if (found) {
    const std::string fits = verb + " " + found->name;
    const bool exists = std::any_of(commands().begin(), commands().end(), [&](const Command& c) { return c.name == fits; });
    throw UsageError(fmt::format("{} holds {}, not {}{}", path, found->title, wanted,
                                 exists ? ": use 'hundun " + fits + "'" : ""));
  }
  auto model = info.metadata.find("model");
  auto trained_by = info.metadata.find("trained_by");
  throw UsageError(fmt::format(
      "{} holds {}{}, not {}", path,
      model == info.metadata.end() ? std::string("no model hundun knows (no 'model' in its metadata)")
                                   : "a '" + model->second + "' model",
      trained_by != info.metadata.end() ? " written by '" + trained_by->second + "'" : "", wanted));
}

AnyModel load_any_model(const std::string& path) {
  AnyModel any;
  any.info = read_checkpoint_info(path);
  any.family = family_of(any.info.metadata);
  if (!any.family) {
    std::string names;
    for (const ModelFamily& f : families()) names += (names.empty() ? "" : ", ") + f.name;
    throw std::runtime_error(fmt::format("{}: its metadata names no model family hundun knows ({})", path, names));
  }
  any.model = any.family->load(path);
  return any;
}

}  // namespace hd::cli
