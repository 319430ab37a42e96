#include "plot/svg_plot.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace whale {

namespace {

constexpr double kTitleHeight = 36;
constexpr double kMarginLeft = 78, kMarginRight = 24, kMarginTop = 30, kMarginBottom = 44;
constexpr const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf"};

std::string escape_xml(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// Short tick labels: "0.5", "1200", "200k", "1.2M", "3e-05".
std::string tick_label(double v, double step) {
  if (v == 0) return "0";
  const double mag = std::max(std::fabs(v), step);
  if (mag >= 1e4) {
    const double div = mag >= 1e9 ? 1e9 : mag >= 1e6 ? 1e6 : 1e3;
    return fmt::format("{:.4g}{}", v / div, div == 1e9 ? "G" : div == 1e6 ? "M" : "k");
  }
  if (mag < 1e-3) return fmt::format("{:.3g}", v);
  const int decimals = std::max(0, -int(std::floor(std::log10(step) + 1e-9)));
  return fmt::format("{:.{}f}", v, decimals);
}

void finite_range(const std::vector<double>& v, double& lo, double& hi) {
  lo = INFINITY;
  hi = -INFINITY;
  for (double x : v)
    if (std::isfinite(x)) lo = std::min(lo, x), hi = std::max(hi, x);
  if (lo > hi) lo = 0, hi = 1;
}

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!(hi > lo)) {
    const double pad = lo == 0 ? 1.0 : std::fabs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const double raw = (hi - lo) / std::max(1, target);
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  const double frac = raw / power;
  const double step = (frac <= 1 ? 1 : frac <= 2 ? 2 : frac <= 5 ? 5 : 10) * power;
  const double first = std::floor(lo / step + 1e-9) * step;
  std::vector<double> ticks;
  for (int i = 0;; ++i) {
    const double t = first + i * step;
    ticks.push_back(std::fabs(t) < step * 1e-9 ? 0.0 : t);
    if (t >= hi - step * 1e-9) break;
  }
  return ticks;
}

std::vector<PanelGeometry> plot_layout(const std::vector<Series>& series, const PlotOptions& o) {
  std::vector<PanelGeometry> panels;
  for (size_t i = 0; i < series.size(); ++i) {
    PanelGeometry g;
    g.left = kMarginLeft;
    g.top = kTitleHeight + double(i) * o.panel_height + kMarginTop;
    g.width = o.width - kMarginLeft - kMarginRight;
    g.height = o.panel_height - kMarginTop - kMarginBottom;
    double lo, hi;
    finite_range(series[i].x, lo, hi);
    g.x_ticks = nice_ticks(lo, hi, 8);
    finite_range(series[i].y, lo, hi);
    g.y_ticks = nice_ticks(lo, hi, 5);
    g.x_min = g.x_ticks.front(), g.x_max = g.x_ticks.back();
    g.y_min = g.y_ticks.front(), g.y_max = g.y_ticks.back();
    panels.push_back(std::move(g));
  }
  return panels;
}

std::string render_svg(const std::vector<Series>& series, const PlotOptions& o) {
  const std::vector<PanelGeometry> panels = plot_layout(series, o);
  const double height = kTitleHeight + double(series.size()) * o.panel_height;
  std::string svg = fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{2}\" y=\"24\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\">{3}</text>\n",
      o.width, height, o.width / 2, escape_xml(o.title));
  for (size_t i = 0; i < series.size(); ++i) {
    const Series& s = series[i];
    const PanelGeometry& g = panels[i];
    const double bottom = g.top + g.height;
    svg += fmt::format("<g class=\"panel\" id=\"panel-{}\">\n", i);
    svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-weight=\"bold\">{}</text>\n",
                       g.left + g.width / 2, g.top - 10, escape_xml(s.name));
    // Grid, ticks and tick labels.
    const double x_step = g.x_ticks.size() > 1 ? g.x_ticks[1] - g.x_ticks[0] : 1;
    for (double t : g.x_ticks) {
      const double x = g.px(t);
      svg += fmt::format("<line x1=\"{0:.2f}\" y1=\"{1:.2f}\" x2=\"{0:.2f}\" y2=\"{2:.2f}\" stroke=\"#e5e5e5\"/>\n"
                         "<text x=\"{0:.2f}\" y=\"{3:.2f}\" text-anchor=\"middle\">{4}</text>\n",
                         x, g.top, bottom + 5, bottom + 18, tick_label(t, x_step));
    }
    const double y_step = g.y_ticks.size() > 1 ? g.y_ticks[1] - g.y_ticks[0] : 1;
    for (double t : g.y_ticks) {
      const double y = g.py(t);
      svg += fmt::format("<line x1=\"{0:.2f}\" y1=\"{1:.2f}\" x2=\"{2:.2f}\" y2=\"{1:.2f}\" stroke=\"#e5e5e5\"/>\n"
                         "<text x=\"{3:.2f}\" y=\"{4:.2f}\" text-anchor=\"end\">{5}</text>\n",
                         g.left - 5, y, g.left + g.width, g.left - 8, y + 4, tick_label(t, y_step));
    }
    svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#333\"/>\n",
                       g.left, g.top, g.width, g.height);
    svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", g.left + g.width / 2,
                       bottom + 36, escape_xml(o.x_label));
    svg += fmt::format("<text transform=\"translate({},{}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n", 18,
                       g.top + g.height / 2, escape_xml(s.name));
    // The data.
    std::string points;
    for (size_t k = 0; k < s.x.size() && k < s.y.size(); ++k) {
      if (!std::isfinite(s.x[k]) || !std::isfinite(s.y[k])) continue;
      if (!points.empty()) points += ' ';
      points += fmt::format("{:.2f},{:.2f}", g.px(s.x[k]), g.py(s.y[k]));
    }
    if (points.empty())
      svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#888\">no data</text>\n",
                         g.left + g.width / 2, g.top + g.height / 2);
    else
      svg += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\" points=\"{}\"/>\n",
                         kColors[i % std::size(kColors)], points);
    svg += "</g>\n";
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace whale
