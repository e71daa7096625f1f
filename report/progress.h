// progress.h — one line of training progress:
//
//   train  epoch 3/20  step 120/469  loss 0.4312  2210 samples/s  elapsed 1m05s  eta 8m40s
//   train gan  epoch 1/5  step 40/938  D 0.6213  G 1.934  103 samples/s  elapsed 24.1s  eta 45m10s
//
// On a terminal the line is redrawn in place ('\r') at most 10 times a second and kept when an
// epoch ends. In a log file or CI (output not a terminal) it prints a plain line every
// log_interval seconds plus one from finish(), so logs stay short.
//
//   Progress progress("train", loader.num_batches(), epochs);
//   for (int e = 0; e < epochs; ++e) {
//     progress.set_epoch(e);
//     for (int64_t step = 0; loader.next(x, y); ++step) { ...; progress.update(step, loss, x.size(0)); }
//   }
//   progress.finish();
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace hd {

// "850ms", "12.3s", "1m05s", "2h03m": short, for humans. "?" for a negative or non-finite time.
std::string format_duration(double seconds);

class Progress {
 public:
  // total_steps: steps per epoch (0 if unknown: no "/total", no eta). epoch_count: epochs in the
  // run (0: not shown as "/E"). log_interval: seconds between plain lines when out is not a terminal.
  Progress(std::string label, int64_t total_steps, int epoch_count = 0, std::FILE* out = stdout,
           double log_interval = 5.0);
  ~Progress();  // ends a half-drawn terminal line with '\n'
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Call after each step. step counts from 0 within the epoch (shown as step + 1); loss enters an
  // exponential moving average; samples_in_step (the batch size) feeds samples/s.
  void update(int64_t step, float loss, int64_t samples_in_step);
  // The same with several named losses (a GAN's D and G), each averaged on its own and shown by its name.
  void update(int64_t step, const std::vector<std::pair<std::string, double>>& losses, int64_t samples_in_step);
  // Epochs count from 0 as well (shown as e + 1).
  void set_epoch(int e);
  // Prints the final line (with the total time) unless it would repeat the last one printed, and
  // ends a terminal line. Later calls do nothing.
  void finish();

  // The current line, without '\r' or '\n' (what the next draw would show).
  std::string line() const;

  // For tests and tools: replace the clock (seconds, any origin) and force a mode.
  void set_clock(std::function<double()> now);
  void set_redraw(bool redraw) { redraw_ = redraw; }
  // For a run that trains in steps (the diffusion model): also "1.42 steps/s"; and with a time budget (--minutes),
  // the eta is at most the budget's seconds (counted from this object's start) that are left.
  void set_steps_per_second(bool on) { steps_per_second_ = on; }
  void set_time_limit(double seconds) { time_limit_ = seconds; }

 private:
  void draw(bool final_line);
  double elapsed() const { return now_() - start_; }

  std::string label_;
  int64_t total_steps_;
  int epoch_count_;
  std::FILE* out_;
  double log_interval_;
  bool redraw_;                     // terminal: rewrite one line in place
  std::function<double()> now_;
  double start_ = 0, last_draw_ = 0;
  int epoch_ = -1;                  // -1: set_epoch never called, no epoch shown
  int64_t step_ = -1;               // last step reported in this epoch
  int64_t steps_done_ = 0, samples_done_ = 0;  // over the whole run
  std::vector<std::string> loss_names_;  // in the order of the first update
  std::vector<double> loss_emas_;         // biased EMAs; divided by 1 - beta^t when shown
  int64_t loss_count_ = 0;
  bool line_open_ = false;          // a terminal line without its '\n' yet
  bool dirty_ = false;              // updates not shown yet
  bool drawn_ = false;              // anything printed at all
  bool finished_ = false;
  bool steps_per_second_ = false;
  double time_limit_ = 0;           // 0: none
};

}  // namespace hd
