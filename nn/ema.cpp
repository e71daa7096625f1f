// ema.cpp — the moving average of nn/ema.h.
#include "nn/ema.h"

#include <fmt/format.h>

#include <stdexcept>

namespace hd {

static constexpr int64_t kParallelThreshold = 1 << 15;

EMA::EMA(const Module& model, float decay) : decay_(decay) {
  if (!(decay >= 0.f && decay <= 1.f)) throw std::invalid_argument(fmt::format("EMA: decay {} is not in [0, 1]", decay));
  for (const auto& [name, p] : model.named_parameters()) shadow_[name] = p.data().clone();
  for (const auto& [name, b] : model.named_buffers()) {
    shadow_[name] = b.clone();
    buffers_.insert(name);
  }
}

void EMA::check_state_dict(const std::map<std::string, Tensor>& state) const {
  for (const auto& [name, own] : shadow_) {
    auto it = state.find(name);
    if (it == state.end()) throw std::invalid_argument(fmt::format("EMA.load_state_dict: missing '{}'", name));
    if (!it->second.defined() || it->second.shape() != own.shape())
      throw std::invalid_argument(fmt::format("EMA.load_state_dict: '{}' has shape {}, expected {}", name,
                                              shape_str(it->second.shape()), shape_str(own.shape())));
  }
  for (const auto& [name, value] : state)
    if (!shadow_.count(name))
      throw std::invalid_argument(fmt::format("EMA.load_state_dict: unexpected entry '{}'", name));
}

std::map<std::string, Tensor> EMA::matching_state(const Module& model, const char* op) const {
  std::map<std::string, Tensor> state = model.state_dict();
  for (const auto& [name, own] : shadow_) {
    auto it = state.find(name);
    if (it == state.end())
      throw std::invalid_argument(fmt::format("{}: the model has no '{}' (is it the model the EMA was made from?)", op, name));
    if (it->second.shape() != own.shape())
      throw std::invalid_argument(fmt::format("{}: the model's '{}' has shape {}, the EMA's {}", op, name,
                                              shape_str(it->second.shape()), shape_str(own.shape())));
  }
  for (const auto& [name, value] : state)
    if (!shadow_.count(name)) throw std::invalid_argument(fmt::format("{}: the EMA has no '{}'", op, name));
  return state;
}

void EMA::update(const Module& model) { update(model, decay_); }

void EMA::update(const Module& model, float decay) {
  std::map<std::string, Tensor> state = matching_state(model, "EMA.update");
  const float keep = decay, take = static_cast<float>(1.0 - decay);
  for (auto& [name, shadow] : shadow_) {
    const Tensor& current = state.at(name);
    if (buffers_.count(name)) {
      shadow.copy_(current);
      continue;
    }
    float* s = shadow.data();
    const float* p = current.data();
    const int64_t n = shadow.numel();
#pragma omp parallel for schedule(static) if (n >= kParallelThreshold)
    for (int64_t j = 0; j < n; ++j) s[j] = keep * s[j] + take * p[j];
  }
  ++num_updates_;
}

void EMA::copy_to(Module& model) const {
  std::map<std::string, Tensor> state = matching_state(model, "EMA.copy_to");
  for (auto& [name, target] : state) target.copy_(shadow_.at(name));
}

void EMA::load_state_dict(const std::map<std::string, Tensor>& state) {
  check_state_dict(state);
  for (auto& [name, shadow] : shadow_) shadow.copy_(state.at(name));
}

}  // namespace hd
