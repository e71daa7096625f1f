// histogram_outline.h — a density histogram drawn as a step line, so that two histograms can share a plot and
// both stay visible (filled bars would hide each other).
#pragma once

#include <string>
#include <vector>

#include "report/plot.h"

namespace hd::lesson {

// The outline of compute_histogram(values, bins, density = true): along each bin's top, down to zero at both
// ends. Its area is 1, so a probability density drawn with plot.line lies on it.
inline void histogram_outline(Plot& plot, const std::vector<double>& values, int bins, const std::string& label,
                              const std::string& color) {
  Histogram h = compute_histogram(values, bins, /*density=*/true);
  std::vector<double> x = {h.edges.front()}, y = {0};
  for (size_t i = 0; i < h.heights.size(); ++i) {
    x.insert(x.end(), {h.edges[i], h.edges[i + 1]});
    y.insert(y.end(), {h.heights[i], h.heights[i]});
  }
  x.push_back(h.edges.back());
  y.push_back(0);
  plot.line(x, y, label, color);
}

}  // namespace hd::lesson
