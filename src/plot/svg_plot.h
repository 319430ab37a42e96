// Line charts as standalone SVG: one panel per series stacked vertically, each with its own y axis,
// ticks at "nice" values (1, 2, 5 × 10^k), grid lines, axis labels and a title. No dependencies.
#pragma once

#include <string>
#include <vector>

namespace whale {

struct Series {
  std::string name;          // panel title and y-axis label
  std::vector<double> x, y;  // same length; drawn in order
};

struct PlotOptions {
  std::string title;
  std::string x_label = "step";
  double width = 800;         // pixels
  double panel_height = 260;  // pixels per series
};

// Where a panel's plot area is and which data range it shows; maps data to pixel coordinates.
struct PanelGeometry {
  double left = 0, top = 0, width = 0, height = 0;   // plot area in pixels
  double x_min = 0, x_max = 1, y_min = 0, y_max = 1;  // data range (extended to the outer ticks)
  std::vector<double> x_ticks, y_ticks;
  double px(double x) const { return left + (x - x_min) / (x_max - x_min) * width; }
  double py(double y) const { return top + height - (y - y_min) / (y_max - y_min) * height; }
};

// Ticks covering [lo, hi] at a step of 1, 2 or 5 × 10^k, about `target` of them; the first is <= lo and
// the last >= hi. lo == hi is widened around the value.
std::vector<double> nice_ticks(double lo, double hi, int target = 5);

std::vector<PanelGeometry> plot_layout(const std::vector<Series>& series, const PlotOptions& options);
// The whole SVG document. Series without points get an empty panel saying "no data".
std::string render_svg(const std::vector<Series>& series, const PlotOptions& options);

}  // namespace whale
