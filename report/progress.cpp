#include "report/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>

namespace hd {

namespace {

constexpr double kLossBeta = 0.9;          // EMA weight of the past: about the last 10 steps count
constexpr double kRedrawInterval = 0.1;    // seconds between terminal redraws

double steady_seconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  if (seconds < 0.9995) return fmt::format("{}ms", std::lround(seconds * 1000));
  if (seconds < 9.95) return fmt::format("{:.1f}s", seconds);
  auto s = std::llround(seconds);  // whole seconds from here on
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  auto m = std::llround(seconds / 60);
  return fmt::format("{}h{:02}m", m / 60, m % 60);
}

Progress::Progress(std::string label, int64_t total_steps, int epoch_count, std::FILE* out, double log_interval)
    : label_(std::move(label)), total_steps_(total_steps), epoch_count_(epoch_count), out_(out),
      log_interval_(log_interval), redraw_(out && isatty(fileno(out))), now_(steady_seconds) {
  start_ = last_draw_ = now_();
}

Progress::~Progress() {
  if (line_open_) std::fputc('\n', out_);
}

void Progress::set_clock(std::function<double()> now) {
  now_ = std::move(now);
  start_ = last_draw_ = now_();
}

void Progress::set_epoch(int e) {
  if (line_open_ && e != epoch_) {  // keep the finished epoch's last line on screen
    std::fputc('\n', out_);
    line_open_ = false;
  }
  epoch_ = e;
  step_ = -1;
}

void Progress::update(int64_t step, float loss, int64_t samples_in_step) {
  update(step, {{"loss", static_cast<double>(loss)}}, samples_in_step);
}

void Progress::update(int64_t step, const std::vector<std::pair<std::string, double>>& losses,
                      int64_t samples_in_step) {
  step_ = step;
  ++steps_done_;
  samples_done_ += samples_in_step;
  if (loss_names_.empty())
    for (const auto& named : losses) {
      loss_names_.push_back(named.first);
      loss_emas_.push_back(0);
    }
  if (losses.size() != loss_names_.size())
    throw std::invalid_argument(fmt::format("Progress::update: {} losses given, {} at the first step", losses.size(),
                                            loss_names_.size()));
  for (size_t i = 0; i < losses.size(); ++i) loss_emas_[i] = kLossBeta * loss_emas_[i] + (1 - kLossBeta) * losses[i].second;
  ++loss_count_;
  dirty_ = true;

  const double since = now_() - last_draw_;
  const bool epoch_end = total_steps_ > 0 && step + 1 >= total_steps_;
  if (redraw_ ? since >= kRedrawInterval || epoch_end : since >= log_interval_) draw(false);
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  // Nothing to add when no step came since the last line (and no terminal line is left open).
  if (dirty_ || !drawn_ || line_open_) draw(true);
}

std::string Progress::line() const {
  const double t = elapsed();
  std::string s = label_;
  if (epoch_ >= 0) s += epoch_count_ > 0 ? fmt::format("  epoch {}/{}", epoch_ + 1, epoch_count_)
                                         : fmt::format("  epoch {}", epoch_ + 1);
  if (step_ >= 0) s += total_steps_ > 0 ? fmt::format("  step {}/{}", step_ + 1, total_steps_)
                                        : fmt::format("  step {}", step_ + 1);
  if (loss_count_ > 0)
    for (size_t i = 0; i < loss_names_.size(); ++i) {
      // Bias-corrected EMA (as in Adam): without the division the first values lean towards 0.
      double smoothed = loss_emas_[i] / (1 - std::pow(kLossBeta, static_cast<double>(loss_count_)));
      s += fmt::format("  {} {:.4g}", loss_names_[i], smoothed);
    }
  if (t > 0 && samples_done_ > 0) s += fmt::format("  {:.0f} samples/s", samples_done_ / t);
  if (steps_per_second_ && t > 0 && steps_done_ > 0) s += fmt::format("  {:.3g} steps/s", steps_done_ / t);
  s += "  elapsed " + format_duration(t);
  // ETA from the average step time so far, over the remaining steps of the run (or of this
  // epoch when the number of epochs is unknown).
  if (total_steps_ > 0 && steps_done_ > 0 && !finished_) {
    int64_t left = total_steps_ - (step_ + 1);
    if (epoch_count_ > 0 && epoch_ >= 0) left += static_cast<int64_t>(epoch_count_ - 1 - epoch_) * total_steps_;
    double eta = t / steps_done_ * left;
    if (time_limit_ > 0) eta = std::min(eta, std::max(0.0, time_limit_ - t));
    if (left > 0) s += "  eta " + format_duration(eta);
  }
  return s;
}

void Progress::draw(bool final_line) {
  if (!out_) return;
  last_draw_ = now_();
  dirty_ = false;
  drawn_ = true;
  std::string s = line();
  if (redraw_) {
    // '\r' back to the start of the line, "\x1b[K" erases what a longer previous line left.
    fmt::print(out_, "\r{}\x1b[K{}", s, final_line ? "\n" : "");
    line_open_ = !final_line;
  } else {
    fmt::print(out_, "{}\n", s);
  }
  std::fflush(out_);
}

}  // namespace hd
