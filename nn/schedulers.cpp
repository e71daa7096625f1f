// schedulers.cpp — the closed forms of nn/schedulers.h.
#include "nn/schedulers.h"

#include <fmt/format.h>

#include <cmath>
#include <numbers>
#include <stdexcept>

namespace hd {

LRScheduler::LRScheduler(Optimizer& optimizer) : optimizer_(optimizer), base_lr_(optimizer.lr()) {}

void LRScheduler::step() { set_last_epoch(last_epoch_ + 1); }

void LRScheduler::set_last_epoch(int64_t epoch) {
  if (epoch < 0) throw std::invalid_argument(fmt::format("LRScheduler.set_last_epoch: epoch {} is negative", epoch));
  last_epoch_ = epoch;
  optimizer_.set_lr(static_cast<float>(lr_at(epoch)));
}

StepLR::StepLR(Optimizer& optimizer, int64_t step_size, double gamma)
    : LRScheduler(optimizer), step_size(step_size), gamma(gamma) {
  if (step_size < 1) throw std::invalid_argument(fmt::format("StepLR: step_size must be >= 1, got {}", step_size));
  set_last_epoch(0);
}

double StepLR::lr_at(int64_t epoch) const {
  return base_lr_ * std::pow(gamma, static_cast<double>(epoch / step_size));
}

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, int64_t T_max, double eta_min)
    : LRScheduler(optimizer), T_max(T_max), eta_min(eta_min) {
  if (T_max < 1) throw std::invalid_argument(fmt::format("CosineAnnealingLR: T_max must be >= 1, got {}", T_max));
  set_last_epoch(0);
}

double CosineAnnealingLR::lr_at(int64_t epoch) const {
  return eta_min + (base_lr_ - eta_min) * (1.0 + std::cos(std::numbers::pi * epoch / T_max)) / 2.0;
}

LinearWarmup::LinearWarmup(Optimizer& optimizer, int64_t warmup) : LRScheduler(optimizer), warmup(warmup) {
  if (warmup < 0) throw std::invalid_argument(fmt::format("LinearWarmup: warmup must be >= 0, got {}", warmup));
  set_last_epoch(0);
}

double LinearWarmup::lr_at(int64_t epoch) const {
  if (epoch < warmup) return base_lr_ * static_cast<double>(epoch + 1) / static_cast<double>(warmup + 1);
  return base_lr_;
}

WarmupCosine::WarmupCosine(Optimizer& optimizer, int64_t warmup, int64_t total, double min_lr)
    : LRScheduler(optimizer), warmup(warmup), total(total), min_lr(min_lr) {
  if (warmup < 0 || total <= warmup)
    throw std::invalid_argument(
        fmt::format("WarmupCosine: expected 0 <= warmup < total, got warmup={}, total={}", warmup, total));
  set_last_epoch(0);
}

double WarmupCosine::lr_at(int64_t epoch) const {
  if (epoch < warmup) return base_lr_ * static_cast<double>(epoch + 1) / static_cast<double>(warmup + 1);
  if (epoch > total) return min_lr;
  double progress = static_cast<double>(epoch - warmup) / static_cast<double>(total - warmup);
  return min_lr + (base_lr_ - min_lr) * (1.0 + std::cos(std::numbers::pi * progress)) / 2.0;
}

}  // namespace hd
