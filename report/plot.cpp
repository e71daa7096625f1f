// plot.cpp — the SVG writer behind Plot (see plot.h).
//
// svg() works in three steps: (1) the axis ranges from the data (or the limits set), with a 5% margin;
// (2) the layout: ticks and their labels decide the margins around the plot area; (3) the drawing,
// back to front: grid, series clipped to the plot area, frame and ticks, texts, legend. Data
// coordinates become pixels through px() and py(); SVG's y axis points down.
#include "report/plot.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <stdexcept>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "data/files.h"

namespace hd {

namespace {

// matplotlib's default colour cycle ("tab10").
const char* const kTab10[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                              "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

// Approximate text widths for layout: an average glyph of sans-serif text is ~0.6 em wide.
constexpr double kTickFont = 11, kLabelFont = 12.5, kTitleFont = 14, kLegendFont = 11;
// Counts characters, not bytes: UTF-8 continuation bytes (10xxxxxx) add no width. A character from U+3000
// up (a lead byte 0xE3 or above: CJK, the lecture's terms) is full-width, a whole em.
double text_width(std::string_view s, double font_size) {
  double ems = 0;
  for (char c : s) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte & 0xC0) != 0x80) ems += byte >= 0xE3 ? 1.0 : 0.6;
  }
  return font_size * ems;
}

// Tick labels use the typographic minus sign (U+2212), as matplotlib does: "-" is a short hyphen.
std::string with_minus_sign(std::string s) {
  if (!s.empty() && s[0] == '-') s.replace(0, 1, "\u2212");
  size_t e = s.find("e-");
  if (e != std::string::npos) s.replace(e + 1, 1, "\u2212");
  return s;
}

std::string escape_xml(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    // clang-format off
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
    // clang-format on
  }
  return out;
}

// A pixel coordinate rounded to 0.1, without a trailing ".0" ("12.5", "40", never "-0"). Far
// off-screen values are clamped: the clip path hides them anyway.
std::string num(double v) {
  if (std::isnan(v)) v = 0;
  double r = std::round(std::clamp(v, -1e6, 1e6) * 10) / 10;
  if (r == 0) r = 0;  // turns -0 into 0
  std::string s = fmt::format("{:.1f}", r);
  if (s.ends_with(".0")) s.resize(s.size() - 2);
  return s;
}

// Crisp 1-pixel lines sit on half pixels.
double crisp(double p) { return std::floor(p) + 0.5; }

// "{:g}" with a short exponent: 1e+06 -> 1e6, 2.5e-05 -> 2.5e-5.
std::string short_g(double v) {
  std::string s = fmt::format("{:g}", v);
  size_t e = s.find('e');
  if (e == std::string::npos) return s;
  std::string mantissa = s.substr(0, e), exponent = s.substr(e + 1);
  bool negative = exponent[0] == '-';
  exponent = exponent.substr(1);
  exponent.erase(0, std::min(exponent.find_first_not_of('0'), exponent.size() - 1));
  return mantissa + "e" + (negative ? "-" : "") + exponent;
}

// Labels for linear ticks: as many decimals as the step needs, exponent notation for huge or tiny values.
std::vector<std::string> tick_labels(const std::vector<double>& ticks) {
  double step = ticks.size() > 1 ? ticks[1] - ticks[0] : 1.0, largest = 0;
  if (!std::isfinite(step) || step <= 0) step = 1;
  for (double t : ticks) largest = std::max(largest, std::fabs(t));
  bool exponent = largest >= 1e6 || (largest > 0 && largest < 1e-3);
  int decimals = std::max(0, -static_cast<int>(std::floor(std::log10(step) + 1e-9)));
  std::vector<std::string> labels;
  for (double t : ticks)
    labels.push_back(with_minus_sign(t == 0 ? "0" : exponent ? short_g(t) : fmt::format("{:.{}f}", t, decimals)));
  return labels;
}

// The smallest and largest finite values added.
struct Range {
  double lo = std::numeric_limits<double>::infinity(), hi = -std::numeric_limits<double>::infinity();
  void add(double v) {
    if (!std::isfinite(v)) return;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  bool empty() const { return lo > hi; }
};

// The data range with a 5% margin on each side (matplotlib's default); a single value gets a band
// of +-10% around it (+-1 around 0). sticky_lo keeps lo as it is (histogram bars rest on 0).
void pad_range(double& lo, double& hi, bool sticky_lo = false) {
  double below = lo == hi ? (lo == 0 ? 1 : std::fabs(lo) * 0.1) : 0.05 * (hi / 2 - lo / 2) * 2;
  double above = below;
  if (sticky_lo) below = 0;
  // Near +-DBL_MAX the margin would overflow: then the range stays as it is.
  if (std::isfinite(lo - below) && std::isfinite(hi + above) && std::isfinite(hi - lo + below + above)) {
    lo -= below;
    hi += above;
  }
}

struct Pixel {
  double x, y;
};

// A polyline thinned for drawing: consecutive points within one pixel column become at most four,
// the first, the highest, the lowest and the last, in their order. That draws the same picture (the
// "M4" reduction of Jugel et al., 2014), so a 100000-step loss curve costs ~4 points per pixel column.
std::vector<Pixel> thin_polyline(const std::vector<Pixel>& points) {
  std::vector<Pixel> out;
  for (size_t begin = 0; begin < points.size();) {
    const double column = std::floor(points[begin].x);
    size_t end = begin, low = begin, high = begin;
    for (; end < points.size() && std::floor(points[end].x) == column; ++end) {
      if (points[end].y < points[low].y) low = end;
      if (points[end].y > points[high].y) high = end;
    }
    size_t keep[4] = {begin, std::min(low, high), std::max(low, high), end - 1};
    for (int k = 0; k < 4; ++k)
      if (k == 0 || keep[k] != keep[k - 1]) out.push_back(points[keep[k]]);
    begin = end;
  }
  return out;
}


}  // namespace

// ---------------------------------------------------------------------------------------------
// Ticks and histograms
// ---------------------------------------------------------------------------------------------

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!(std::isfinite(lo) && std::isfinite(hi) && lo <= hi))
    throw std::invalid_argument(fmt::format("nice_ticks: need finite lo <= hi, got [{}, {}]", lo, hi));
  if (lo == hi) return {lo};
  // A span beyond double range (or below ~1e-290) cannot be stepped evenly: just label both ends.
  if (!std::isfinite(hi - lo) || hi - lo < 1e-290) return {lo, hi};
  target = std::max(target, 2);
  // step = m * 10^e with m in {1, 2, 5, 10}; 10^e is the power of ten just below the raw step.
  const int e = static_cast<int>(std::floor(std::log10((hi - lo) / target)));
  const double p = std::pow(10.0, std::abs(e));
  // k * m * 10^e, computed as an integer times or over an exact power of ten so 0.6 prints as 0.6.
  auto tick = [&](int64_t km) { return e >= 0 ? static_cast<double>(km) * p : static_cast<double>(km) / p; };
  auto step_of = [&](int m) { return tick(m); };
  // The count closest to the target by ratio (for 5: 8 beats 3, since 8/5 < 5/3) wins; on a tie the
  // larger step, with fewer labels.
  auto distance = [&](double count) { return count >= target ? count / target : target / std::max(count, 0.5); };
  int best_m = 1;
  double best_distance = std::numeric_limits<double>::infinity();
  for (int m : {1, 2, 5, 10}) {
    double step = step_of(m);
    double count = std::floor(hi / step + 1e-9) - std::ceil(lo / step - 1e-9) + 1;
    if (distance(count) <= best_distance) {
      best_m = m;
      best_distance = distance(count);
    }
  }
  const double step = step_of(best_m);
  std::vector<double> ticks;
  for (auto k = static_cast<int64_t>(std::ceil(lo / step - 1e-9));
       k <= static_cast<int64_t>(std::floor(hi / step + 1e-9)); ++k)
    ticks.push_back(tick(k * best_m));
  return ticks;
}

std::vector<double> log_ticks(double lo, double hi) {
  if (!(std::isfinite(lo) && std::isfinite(hi) && lo > 0 && lo <= hi))
    throw std::invalid_argument(fmt::format("log_ticks: need finite 0 < lo <= hi, got [{}, {}]", lo, hi));
  const double eps = 1e-9;
  const int d0 = static_cast<int>(std::floor(std::log10(lo))), d1 = static_cast<int>(std::ceil(std::log10(hi)));
  auto in_range = [&](double v) { return v >= lo * (1 - eps) && v <= hi * (1 + eps); };
  // Candidate multipliers per decade, from sparse to dense; the first that gives enough ticks wins.
  const std::vector<std::vector<int>> multipliers = {{1}, {1, 2, 5}, {1, 2, 3, 4, 5, 6, 7, 8, 9}};
  for (const auto& ms : multipliers) {
    std::vector<double> ticks;
    for (int d = d0; d <= d1; ++d)
      for (int m : ms) {
        double v = d >= 0 ? m * std::pow(10.0, d) : m / std::pow(10.0, -d);
        if (in_range(v)) ticks.push_back(v);
      }
    if (ticks.size() >= 3 || (ms.size() == 9 && ticks.size() >= 2)) {
      // Many decades: keep every k-th power of ten so about 8 labels remain.
      if (ticks.size() > 10 && ms.size() == 1) {
        std::vector<double> sparse;
        size_t k = (ticks.size() + 7) / 8;
        for (size_t i = 0; i < ticks.size(); ++i)
          if (static_cast<int>(std::round(std::log10(ticks[i]))) % static_cast<int>(k) == 0) sparse.push_back(ticks[i]);
        return sparse;
      }
      return ticks;
    }
  }
  // Less than a factor of two between lo and hi: plain ticks, placed on the log scale.
  return nice_ticks(lo, hi, 4);
}

Histogram compute_histogram(const std::vector<double>& values, int bins, bool density) {
  if (bins < 1 || bins > 100000)
    throw std::invalid_argument(fmt::format("histogram: bins must be in [1, 100000], got {}", bins));
  Range range;
  for (double v : values) range.add(v);
  double lo = range.empty() ? 0 : range.lo, hi = range.empty() ? 1 : range.hi;
  if (lo == hi) {
    lo -= 0.5;
    hi += 0.5;
  }
  Histogram h;
  // std::lerp is exact at both ends and never computes hi - lo, which may overflow.
  for (int i = 0; i <= bins; ++i) h.edges.push_back(std::lerp(lo, hi, static_cast<double>(i) / bins));
  h.heights.assign(bins, 0.0);
  int64_t n = 0;
  for (double v : values) {
    if (!std::isfinite(v)) continue;
    // Halves keep hi - lo finite even for values near +-DBL_MAX.
    double t = (v / 2 - lo / 2) / (hi / 2 - lo / 2);
    h.heights[std::min(bins - 1, static_cast<int>(t * bins))] += 1;
    ++n;
  }
  if (density && n > 0) {
    // count / (n * width): the bars' areas sum to 1, like numpy's density=True.
    for (int i = 0; i < bins; ++i) h.heights[i] /= static_cast<double>(n) * (h.edges[i + 1] - h.edges[i]);
  }
  return h;
}

// ---------------------------------------------------------------------------------------------
// Plot: collecting series
// ---------------------------------------------------------------------------------------------

Plot::Plot(std::string title, std::string xlabel, std::string ylabel, int width, int height)
    : title_(std::move(title)), xlabel_(std::move(xlabel)), ylabel_(std::move(ylabel)), width_(width), height_(height) {
  if (width < 200 || height < 150 || width > 20000 || height > 20000)
    throw std::invalid_argument(
        fmt::format("Plot: size must be 200..20000 x 150..20000 pixels, got {}x{}", width, height));
}

void Plot::add(Series series) {
  if (series.color.empty()) series.color = kTab10[series_.size() % 10];
  series_.push_back(std::move(series));
}

void Plot::line(const std::vector<double>& x, const std::vector<double>& y, const std::string& label,
                const std::string& color) {
  if (x.size() != y.size())
    throw std::invalid_argument(
        fmt::format("Plot::line: '{}' has {} x values but {} y values", label, x.size(), y.size()));
  add({Kind::Line, label, color, x, y});
}

void Plot::scatter(const std::vector<double>& x, const std::vector<double>& y, const std::string& label,
                   const std::string& color, double radius, double opacity) {
  if (x.size() != y.size())
    throw std::invalid_argument(
        fmt::format("Plot::scatter: '{}' has {} x values but {} y values", label, x.size(), y.size()));
  if (!(radius > 0 && radius < 1000 && opacity >= 0 && opacity <= 1))
    throw std::invalid_argument(
        fmt::format("Plot::scatter: need radius > 0 and opacity in [0, 1], got {} and {}", radius, opacity));
  add({Kind::Scatter, label, color, x, y, radius, opacity});
}

void Plot::histogram(const std::vector<double>& values, int bins, const std::string& label, bool density,
                     const std::string& color) {
  Histogram h = compute_histogram(values, bins, density);
  bool any = std::any_of(values.begin(), values.end(), [](double v) { return std::isfinite(v); });
  // Without data there are no bars, but the series keeps its legend entry and colour.
  add({Kind::Bars, label, color, any ? h.edges : std::vector<double>{}, any ? h.heights : std::vector<double>{}});
}

void Plot::set_xlim(double lo, double hi) {
  if (!(std::isfinite(lo) && std::isfinite(hi) && lo < hi))
    throw std::invalid_argument(fmt::format("Plot::set_xlim: need finite lo < hi, got [{}, {}]", lo, hi));
  has_xlim_ = true;
  xlim_[0] = lo;
  xlim_[1] = hi;
}

void Plot::set_ylim(double lo, double hi) {
  if (!(std::isfinite(lo) && std::isfinite(hi) && lo < hi))
    throw std::invalid_argument(fmt::format("Plot::set_ylim: need finite lo < hi, got [{}, {}]", lo, hi));
  has_ylim_ = true;
  ylim_[0] = lo;
  ylim_[1] = hi;
}

void Plot::set_log_y(bool log_y) { log_y_ = log_y; }

// ---------------------------------------------------------------------------------------------
// Plot: drawing
// ---------------------------------------------------------------------------------------------

std::string Plot::svg() const {
  if (log_y_ && has_ylim_ && ylim_[0] <= 0)
    throw std::invalid_argument(
        fmt::format("Plot::svg: a log y axis needs ylim > 0, got [{}, {}]", ylim_[0], ylim_[1]));
  // A y value is drawable when finite (and positive on a log axis); log axes work in log10(y).
  auto usable_y = [&](double y) { return std::isfinite(y) && (!log_y_ || y > 0); };
  auto ty = [&](double y) { return log_y_ ? std::log10(y) : y; };

  // (1) Axis ranges: y in log10 units on a log axis.
  Range xr, yr;
  bool bars = false;
  for (const Series& s : series_) {
    if (s.kind == Kind::Bars) {
      if (s.x.empty()) continue;
      bars = true;
      xr.add(s.x.front());
      xr.add(s.x.back());
      for (double h : s.y)
        if (usable_y(h)) yr.add(ty(h));
      if (!log_y_) yr.add(0);
      continue;
    }
    for (size_t i = 0; i < s.x.size(); ++i)
      if (std::isfinite(s.x[i]) && usable_y(s.y[i])) {
        xr.add(s.x[i]);
        yr.add(ty(s.y[i]));
      }
  }
  double x0 = xr.empty() ? 0 : xr.lo, x1 = xr.empty() ? 1 : xr.hi;
  double y0 = yr.empty() ? 0 : yr.lo, y1 = yr.empty() ? 1 : yr.hi;
  if (has_xlim_) {
    x0 = xlim_[0];
    x1 = xlim_[1];
  } else {
    pad_range(x0, x1);
  }
  if (has_ylim_) {
    y0 = ty(ylim_[0]);
    y1 = ty(ylim_[1]);
  } else if (log_y_) {
    if (y0 == y1) {  // a constant loss: show a decade around it
      y0 -= 0.5;
      y1 += 0.5;
    } else {
      pad_range(y0, y1);
    }
  } else {
    pad_range(y0, y1, bars && y0 == 0);
  }

  // (2) Layout: ticks and labels first, since their widths decide the margins.
  std::vector<double> yticks;
  std::vector<std::string> ylabels;
  if (log_y_) {
    yticks = log_ticks(std::pow(10.0, y0), std::pow(10.0, y1));
    for (double t : yticks) ylabels.push_back(with_minus_sign(short_g(t)));
    for (double& t : yticks) t = std::log10(t);
  } else {
    yticks = nice_ticks(y0, y1, std::clamp((height_ - 100) / 55, 3, 8));
    ylabels = tick_labels(yticks);
  }
  double widest_ylabel = 0;
  for (const auto& l : ylabels) widest_ylabel = std::max(widest_ylabel, text_width(l, kTickFont));

  // Whole-pixel margins keep the frame and the 1-pixel grid lines crisp.
  const double ml = std::round((ylabel_.empty() ? 10 : 30) + widest_ylabel + 8);
  const double mt = title_.empty() ? 14 : 36;
  const double mb = 24 + (xlabel_.empty() ? 4 : 22);
  // x ticks: fewer of them until their labels fit side by side.
  std::vector<double> xticks;
  std::vector<std::string> xlabels;
  double widest_xlabel = 0;
  for (int target = std::clamp((width_ - 100) / 80, 3, 10); target >= 2; --target) {
    xticks = nice_ticks(x0, x1, target);
    xlabels = tick_labels(xticks);
    widest_xlabel = 0;
    for (const auto& l : xlabels) widest_xlabel = std::max(widest_xlabel, text_width(l, kTickFont));
    if ((widest_xlabel + 12) * static_cast<double>(xticks.size()) < (width_ - ml - 20) * 0.9) break;
  }
  const double mr = std::round(std::max(16.0, widest_xlabel / 2 + 6));
  const double pw = width_ - ml - mr, ph = height_ - mt - mb;  // the plot area
  const double left = ml, top = mt, right = ml + pw, bottom = mt + ph;

  // Halves keep x1 - x0 finite even for data near +-DBL_MAX.
  auto px = [&](double x) { return left + (x / 2 - x0 / 2) / (x1 / 2 - x0 / 2) * pw; };
  auto py = [&](double y_axis_units) { return bottom - (y_axis_units / 2 - y0 / 2) / (y1 / 2 - y0 / 2) * ph; };

  std::string out;
  out.reserve(4096);
  auto emit = [&](std::string_view s) { out += s; };

  emit(
      fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
                  "font-family=\"DejaVu Sans, WenQuanYi Zen Hei, Noto Sans CJK TC, Helvetica, Arial, sans-serif\">\n",
                  width_, height_));
  if (!title_.empty()) emit(fmt::format("<title>{}</title>\n", escape_xml(title_)));
  emit("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
  // Plots inlined in one HTML page share one id space: an id named after its rectangle makes equal
  // ids mean equal rectangles.
  const std::string clip_id = fmt::format("plot-area-{}-{}-{}-{}", num(left), num(top), num(pw), num(ph));
  emit(fmt::format("<defs><clipPath id=\"{}\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/></clipPath></defs>\n",
                   clip_id, num(left), num(top), num(pw), num(ph)));

  // (3a) Grid lines at the ticks, and light ones at 2..9 x 10^k on a log axis.
  emit("<g stroke=\"#e8e8e8\" stroke-width=\"1\">\n");
  if (log_y_ && y1 - y0 < 6) {
    for (int d = static_cast<int>(std::floor(y0)); d <= static_cast<int>(std::ceil(y1)); ++d)
      for (int m = 2; m <= 9; ++m) {
        double y = d + std::log10(m);
        if (y > y0 && y < y1)
          emit(fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"#f3f3f3\"/>\n", num(left),
                           num(right), num(crisp(py(y))), num(crisp(py(y)))));
      }
  }
  for (double t : xticks)
    emit(
        fmt::format("<line x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"/>\n", num(crisp(px(t))), num(top), num(bottom)));
  for (double t : yticks)
    emit(
        fmt::format("<line x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\"/>\n", num(left), num(right), num(crisp(py(t)))));
  emit("</g>\n");

  // (3b) Series, clipped to the plot area: bars at the back, then scatters, then lines on top.
  emit(fmt::format("<g clip-path=\"url(#{})\">\n", clip_id));
  for (const Series& s : series_) {
    if (s.kind != Kind::Bars || s.x.empty()) continue;
    emit(fmt::format("<g class=\"bars\" fill=\"{}\" fill-opacity=\"0.55\" stroke=\"white\" stroke-width=\"0.6\">\n",
                     escape_xml(s.color)));
    for (size_t i = 0; i < s.y.size(); ++i) {
      if (!usable_y(s.y[i])) continue;
      double xa = px(s.x[i]), xb = px(s.x[i + 1]);
      double ya = py(ty(s.y[i])), yb = log_y_ ? bottom : py(0);  // bars rest on 0, or on the log axis
      emit(fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>\n", num(xa), num(std::min(ya, yb)),
                       num(xb - xa), num(std::fabs(yb - ya))));
    }
    emit("</g>\n");
  }
  for (const Series& s : series_) {
    if (s.kind != Kind::Scatter) continue;
    emit(fmt::format("<g class=\"scatter\" fill=\"{}\" fill-opacity=\"{}\">\n", escape_xml(s.color), s.opacity));
    std::string r = num(s.radius);
    for (size_t i = 0; i < s.x.size(); ++i)
      if (std::isfinite(s.x[i]) && usable_y(s.y[i]))
        emit(fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"{}\"/>\n", num(px(s.x[i])), num(py(ty(s.y[i]))), r));
    emit("</g>\n");
  }
  for (const Series& s : series_) {
    if (s.kind != Kind::Line) continue;
    emit(
        fmt::format("<g class=\"line\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.8\" stroke-linejoin=\"round\" "
                    "stroke-linecap=\"round\">\n",
                    escape_xml(s.color)));
    // A run of drawable points becomes one polyline; a NaN (or y <= 0 on a log axis) breaks the line.
    std::vector<Pixel> run;
    auto flush = [&] {
      run = thin_polyline(run);
      if (run.size() == 1) {  // a lone point would be invisible as a polyline: draw a dot
        emit(fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"2\" fill=\"{}\" stroke=\"none\"/>\n", num(run[0].x),
                         num(run[0].y), escape_xml(s.color)));
      } else if (run.size() > 1) {
        std::string points, previous;
        for (const Pixel& p : run) {
          std::string xy = num(p.x) + "," + num(p.y);
          if (xy == previous) continue;
          if (!points.empty()) points += ' ';
          points += xy;
          previous = std::move(xy);
        }
        emit(fmt::format("<polyline points=\"{}\"/>\n", points));
      }
      run.clear();
    };
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (std::isfinite(s.x[i]) && usable_y(s.y[i]))
        run.push_back({px(s.x[i]), py(ty(s.y[i]))});
      else
        flush();
    }
    flush();
    emit("</g>\n");
  }
  emit("</g>\n");

  // (3c) Frame, tick marks and tick labels.
  emit(fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#444\" stroke-width=\"1\"/>\n",
      num(crisp(left)), num(crisp(top)), num(std::round(pw)), num(std::round(ph))));
  emit(fmt::format("<g font-size=\"{}\" fill=\"#333\">\n", kTickFont));
  for (size_t i = 0; i < xticks.size(); ++i) {
    double x = crisp(px(xticks[i]));
    emit(fmt::format("<line x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#444\"/>\n", num(x), num(bottom),
                     num(bottom + 4)));
    emit(fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", num(x), num(bottom + 17),
                     escape_xml(xlabels[i])));
  }
  for (size_t i = 0; i < yticks.size(); ++i) {
    double y = crisp(py(yticks[i]));
    emit(fmt::format("<line x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\" stroke=\"#444\"/>\n", num(left - 4), num(left),
                     num(y)));
    emit(fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n", num(left - 7), num(y + 4),
                     escape_xml(ylabels[i])));
  }
  emit("</g>\n");

  // (3d) Title and axis labels.
  if (!title_.empty())
    emit(fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"{}\" font-weight=\"bold\" text-anchor=\"middle\">{}</text>\n",
                     num(left + pw / 2), num(mt - 13), kTitleFont, escape_xml(title_)));
  if (!xlabel_.empty())
    emit(fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"{}\" text-anchor=\"middle\">{}</text>\n", num(left + pw / 2),
                     num(height_ - 9), kLabelFont, escape_xml(xlabel_)));
  if (!ylabel_.empty())
    emit(fmt::format(
        "<text transform=\"translate({},{}) rotate(-90)\" font-size=\"{}\" text-anchor=\"middle\">{}</text>\n", num(16),
        num(top + ph / 2), kLabelFont, escape_xml(ylabel_)));

  // (3e) Legend: in the corner of the plot area that hides the least data, as matplotlib's loc="best".
  std::vector<const Series*> listed;
  for (const Series& s : series_)
    if (!s.label.empty()) listed.push_back(&s);
  if (!listed.empty()) {
    const double row = 18, swatch = 22;
    double widest = 0;
    for (const Series* s : listed) widest = std::max(widest, text_width(s->label, kLegendFont));
    const double bw = 10 + swatch + 6 + widest + 10, bh = 6 + row * static_cast<double>(listed.size()) + 4, inset = 8;
    // Candidate corners: upper right, upper left, lower right, lower left.
    const double corners[4][2] = {{right - inset - bw, top + inset},
                                  {left + inset, top + inset},
                                  {right - inset - bw, bottom - inset - bh},
                                  {left + inset, bottom - inset - bh}};
    double best_cost = std::numeric_limits<double>::infinity();
    double bx = corners[0][0], by = corners[0][1];
    for (const auto& c : corners) {
      auto inside = [&](double x, double y) { return x >= c[0] && x <= c[0] + bw && y >= c[1] && y <= c[1] + bh; };
      double cost = 0;
      for (const Series& s : series_) {
        if (s.kind == Kind::Bars) {  // overlapped bar area, counted like one point per 25 square pixels
          for (size_t i = 0; i < s.y.size(); ++i) {
            if (!usable_y(s.y[i])) continue;
            double w = std::min(px(s.x[i + 1]), c[0] + bw) - std::max(px(s.x[i]), c[0]);
            double h = std::min(bottom, c[1] + bh) - std::max(py(ty(s.y[i])), c[1]);
            if (w > 0 && h > 0) cost += w * h / 25;
          }
          continue;
        }
        // Points, and for lines also samples every ~10 pixels along each segment.
        for (size_t i = 0; i < s.x.size(); ++i) {
          if (!std::isfinite(s.x[i]) || !usable_y(s.y[i])) continue;
          double xa = px(s.x[i]), ya = py(ty(s.y[i]));
          cost += inside(xa, ya);
          if (s.kind != Kind::Line || i + 1 == s.x.size() || !std::isfinite(s.x[i + 1]) || !usable_y(s.y[i + 1]))
            continue;
          double xb = px(s.x[i + 1]), yb = py(ty(s.y[i + 1]));
          int samples = static_cast<int>(std::min(50.0, std::hypot(xb - xa, yb - ya) / 10));
          for (int k = 1; k < samples; ++k) cost += inside(xa + (xb - xa) * k / samples, ya + (yb - ya) * k / samples);
        }
      }
      if (cost < best_cost) {
        best_cost = cost;
        bx = c[0];
        by = c[1];
      }
    }
    emit(fmt::format("<g class=\"legend\" font-size=\"{}\">\n", kLegendFont));
    emit(
        fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"3\" fill=\"white\" fill-opacity=\"0.85\" "
                    "stroke=\"#cccccc\"/>\n",
                    num(bx), num(by), num(bw), num(bh)));
    for (size_t i = 0; i < listed.size(); ++i) {
      const Series& s = *listed[i];
      const double cy = by + 6 + row * (static_cast<double>(i) + 0.5), sx = bx + 10;
      const std::string color = escape_xml(s.color);
      if (s.kind == Kind::Line)
        emit(fmt::format("<line x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\" stroke=\"{3}\" stroke-width=\"2\"/>\n",
                         num(sx), num(sx + swatch), num(cy), color));
      else if (s.kind == Kind::Scatter)
        emit(fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"4\" fill=\"{}\" fill-opacity=\"{}\"/>\n",
                         num(sx + swatch / 2), num(cy), color, std::max(s.opacity, 0.6)));
      else
        emit(fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"10\" fill=\"{}\" fill-opacity=\"0.55\"/>\n",
                         num(sx + 2), num(cy - 5), num(swatch - 4), color));
      emit(fmt::format("<text x=\"{}\" y=\"{}\" fill=\"#222\">{}</text>\n", num(sx + swatch + 6), num(cy + 4),
                       escape_xml(s.label)));
    }
    emit("</g>\n");
  }
  emit("</svg>\n");
  return out;
}

void Plot::save(const std::string& path) const { write_file_atomically(path, svg(), "Plot::save"); }

// ---------------------------------------------------------------------------------------------
// Loss curves
// ---------------------------------------------------------------------------------------------

void save_loss_curve(const std::vector<double>& steps, const std::vector<double>& losses, const std::string& path,
                     const std::string& title) {
  if (steps.size() != losses.size())
    throw std::invalid_argument(
        fmt::format("save_loss_curve: {} steps but {} losses for '{}'", steps.size(), losses.size(), path));
  Plot plot(title, "step", "loss");
  // A log axis when every loss is positive and they span more than a decade.
  Range r;
  bool positive = true;
  for (double l : losses) {
    r.add(l);
    positive = positive && (!std::isfinite(l) || l > 0);
  }
  if (!r.empty() && positive && r.hi >= 10 * r.lo) plot.set_log_y(true);

  if (losses.size() < 100) {
    plot.line(steps, losses, "loss");
  } else {
    // Per-step losses are noisy: draw them pale, and over them an exponential moving average
    // m_t = beta * m_(t-1) + (1 - beta) * loss_t, divided by 1 - beta^t to remove the bias of m_0 = 0.
    const double window = std::clamp(static_cast<double>(losses.size()) / 50, 5.0, 500.0), beta = 1 - 1 / window;
    std::vector<double> smooth(losses.size(), NAN);
    double m = 0, correction = 1;
    for (size_t i = 0; i < losses.size(); ++i) {
      if (!std::isfinite(losses[i])) continue;
      m = beta * m + (1 - beta) * losses[i];
      correction *= beta;
      smooth[i] = m / (1 - correction);
    }
    plot.line(steps, losses, "loss", "#aec7e8");
    plot.line(steps, smooth, fmt::format("moving average ({:.0f} steps)", window), "#1f77b4");
  }
  plot.save(path);
}

void scatter_by_class(Plot& plot, const Tensor& points, const Tensor& labels, const std::vector<std::string>& class_names) {
  if (points.dim() != 2 || points.size(1) != 2 || labels.dim() != 1 || labels.size(0) != points.size(0))
    throw std::invalid_argument(fmt::format("scatter_by_class: expected points [N, 2] and labels [N], got {} and {}",
                                            shape_str(points.shape()), shape_str(labels.shape())));
  const Tensor& p = points;
  for (size_t c = 0; c < class_names.size(); ++c) {
    std::vector<double> x, y;
    for (int64_t i = 0; i < p.size(0); ++i)
      if (static_cast<size_t>(labels.data()[i]) == c) {
        x.push_back(p.data()[2 * i]);
        y.push_back(p.data()[2 * i + 1]);
      }
    plot.scatter(x, y, class_names[c], "", 1.5, 0.5);
  }
}

void histogram_outline(Plot& plot, const std::vector<double>& values, int bins, const std::string& label,
                       const std::string& color) {
  const Histogram h = compute_histogram(values, bins, /*density=*/true);
  std::vector<double> x = {h.edges.front()}, y = {0};
  for (size_t i = 0; i < h.heights.size(); ++i) {
    x.insert(x.end(), {h.edges[i], h.edges[i + 1]});
    y.insert(y.end(), {h.heights[i], h.heights[i]});
  }
  x.push_back(h.edges.back());
  y.push_back(0);
  plot.line(x, y, label, color);
}

}  // namespace hd
