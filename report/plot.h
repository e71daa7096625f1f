// plot.h — line, scatter and histogram plots written as SVG by hundun's own small writer.
//
// A Plot collects series and draws them in one picture, like a matplotlib Axes: a frame with "nice"
// ticks (steps of 1, 2 or 5 times a power of ten), grid lines, axis labels, a title and a legend
// listing each labelled series in its colour. Colours follow matplotlib's tab10 cycle unless given
// ("#1f77b4", "red"...). Histograms are drawn first, then scatters, then lines, so a density curve
// stays visible over the bars it describes.
//
// Non-finite values are skipped (a line breaks there), so does y <= 0 on a log axis. Coordinates are
// rounded to 0.1 pixel, which keeps 60000 scatter points a few MB.
#pragma once

#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace hd {

class Plot {
 public:
  Plot(std::string title, std::string xlabel, std::string ylabel, int width = 640, int height = 420);

  // A polyline through (x[i], y[i]); x and y have the same length.
  void line(const std::vector<double>& x, const std::vector<double>& y, const std::string& label,
            const std::string& color = "");
  // One dot of `radius` pixels per point; overlapping dots add up their `opacity`, showing density.
  void scatter(const std::vector<double>& x, const std::vector<double>& y, const std::string& label,
               const std::string& color = "", double radius = 1.5, double opacity = 0.6);
  // `bins` equal bins between the smallest and largest finite value. density: bar heights are
  // count / (n * bin width), so the bars' areas sum to 1 and a probability density f(x) overlays them.
  void histogram(const std::vector<double>& values, int bins, const std::string& label, bool density = true,
                 const std::string& color = "");

  // Fixed axis ranges instead of the data's range plus a 5% margin.
  void set_xlim(double lo, double hi);
  void set_ylim(double lo, double hi);
  // A logarithmic y axis, for losses that fall over decades.
  void set_log_y(bool log_y = true);

  std::string svg() const;
  // Creates missing parent folders; writes a temporary file and renames it over `path`.
  void save(const std::string& path) const;

 private:
  enum class Kind { Line, Scatter, Bars };
  struct Series {
    Kind kind;
    std::string label, color;
    std::vector<double> x, y;  // bars: x holds the bins+1 edges, y the bins heights
    double radius = 1.5, opacity = 1.0;
  };
  void add(Series series);

  std::string title_, xlabel_, ylabel_;
  int width_, height_;
  std::vector<Series> series_;
  bool has_xlim_ = false, has_ylim_ = false, log_y_ = false;
  double xlim_[2] = {0, 1}, ylim_[2] = {0, 1};
};

// Writes steps against losses (with an exponential moving average over noisy curves, and a log y
// axis when the loss falls over more than a decade) to an SVG file.
void save_loss_curve(const std::vector<double>& steps, const std::vector<double>& losses, const std::string& path,
                     const std::string& title);

// --- the pieces of an axis, public for tests and for anyone drawing their own ---

// Tick values k * step in [lo, hi], step = 1, 2 or 5 times a power of ten, chosen so the count is
// close to `target` (e.g. [0, 1] -> 0, 0.2, ..., 1).
std::vector<double> nice_ticks(double lo, double hi, int target = 6);
// Ticks for a log axis over [lo, hi] (both > 0): powers of ten, with 2 and 5 times them when the range
// spans less than two decades.
std::vector<double> log_ticks(double lo, double hi);

struct Histogram {
  std::vector<double> edges;    // bins + 1 values, from the smallest to the largest finite value
  std::vector<double> heights;  // counts, or densities count / (n * width)
};
// As numpy.histogram: bins are [e_i, e_i+1), the last one also includes its right edge. Non-finite
// values are skipped; constant data gets the range [v - 0.5, v + 0.5].
Histogram compute_histogram(const std::vector<double>& values, int bins, bool density);

// A latent-space map: points [N, 2] (codes z of N images) as one scatter per class, labels [N] holding class
// indices into `class_names` (Fashion-MNIST's ten): similar classes land side by side when the code is good.
// The outline of compute_histogram(values, bins, density = true) as a step line along each bin's top, down to
// zero at both ends, so that two histograms can share a plot and both stay visible (filled bars would hide each
// other). Its area is 1, so a probability density drawn with plot.line lies on it.
void histogram_outline(Plot& plot, const std::vector<double>& values, int bins, const std::string& label,
                       const std::string& color);

void scatter_by_class(Plot& plot, const Tensor& points, const Tensor& labels, const std::vector<std::string>& class_names);

}  // namespace hd
