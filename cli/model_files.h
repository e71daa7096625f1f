// model_files.h — what is in a checkpoint, for the commands: each model family registers how its files are
// recognised and loaded, so that `hundun export` takes any model and every command refuses a file of another
// family with one line naming the command that fits it.
//
// A family's checkpoint says what it holds in its metadata (nn/checkpoint.h): "model" is the family's name ("ae",
// "vae"; the classifier writes its architecture, "cnn" or "mlp") and "trained_by" the command that wrote it.
// A new family registers itself in its own cli/<family>/ folder with one line:
//
//   const bool registered = register_family({"vae", "a VAE", {}, [](const std::string& path) { return load_vae(path); }});
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nn/checkpoint.h"
#include "nn/module.h"

namespace hd::cli {

struct ModelFamily {
  std::string name;                       // the command word and "model" entry: "vae"
  std::string title;                      // for messages: "a VAE"
  std::vector<std::string> model_entries; // other "model" values it reads (the classifier's "cnn", "mlp")
  // Builds the model from the file's metadata and loads its weights, in evaluation mode (models/<family>.h).
  std::function<std::shared_ptr<Module>(const std::string& path)> load;
};

// Adds a family (static initialisation calls this). Returns true, for the `const bool registered = ...` idiom.
bool register_family(ModelFamily family);

// The family whose files hold `metadata` ("model" entry), or nullptr.
const ModelFamily* family_of(const std::map<std::string, std::string>& metadata);

// The check every command makes before it loads `path` (read and validated as a checkpoint): a file of another
// family is a UsageError "out/vae/checkpoint.safetensors holds a VAE, not an autoencoder: use 'hundun sample vae'"
// (`verb` "sample"); a file of no known family says what its metadata holds. Returns the file's info.
CheckpointInfo check_family(const std::string& path, const std::string& expected, const std::string& verb);

// The model in any checkpoint of a registered family (for export), with its family.
struct AnyModel {
  const ModelFamily* family = nullptr;
  std::shared_ptr<Module> model;
  CheckpointInfo info;
};
AnyModel load_any_model(const std::string& path);

}  // namespace hd::cli
