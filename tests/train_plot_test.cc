// SVG line charts: nice ticks, the document is well-formed (balanced tags), polyline points land where the
// panel geometry maps the data, and metrics logs become series (with errors naming what is missing).
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "core/error.h"
#include "plot/metrics_series.h"
#include "plot/svg_plot.h"

namespace whale {
namespace {

// Checks that every element is closed in order (a small XML well-formedness check) and counts elements.
bool balanced_tags(const std::string& svg, int& n_elements) {
  std::vector<std::string> stack;
  n_elements = 0;
  for (size_t i = svg.find('<'); i != std::string::npos; i = svg.find('<', i + 1)) {
    const size_t end = svg.find('>', i);
    if (end == std::string::npos) return false;
    const std::string tag = svg.substr(i + 1, end - i - 1);
    if (tag[0] == '?') continue;
    if (tag[0] == '/') {
      if (stack.empty() || stack.back() != tag.substr(1)) return false;
      stack.pop_back();
      continue;
    }
    ++n_elements;
    if (tag.back() != '/') stack.push_back(tag.substr(0, tag.find_first_of(" \n")));
    if (tag.find('<') != std::string::npos) return false;
  }
  return stack.empty();
}

std::vector<std::pair<double, double>> polyline_points(const std::string& svg, size_t nth) {
  const std::regex re("<polyline[^>]* points=\"([^\"]*)\"");
  auto it = std::sregex_iterator(svg.begin(), svg.end(), re);
  for (size_t i = 0; i < nth; ++i) ++it;
  std::vector<std::pair<double, double>> pts;
  std::istringstream in((*it)[1].str());
  for (std::string pair; in >> pair;) {
    const size_t comma = pair.find(',');
    pts.emplace_back(std::stod(pair.substr(0, comma)), std::stod(pair.substr(comma + 1)));
  }
  return pts;
}

TEST(NiceTicks, CoverTheRangeWithRoundSteps) {
  EXPECT_EQ(nice_ticks(0, 10, 5), (std::vector<double>{0, 2, 4, 6, 8, 10}));
  EXPECT_EQ(nice_ticks(0.13, 0.92, 4), (std::vector<double>{0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0}));
  EXPECT_EQ(nice_ticks(3.3, 11.7, 8), (std::vector<double>{2, 4, 6, 8, 10, 12}));  // raw step 1.05 → 2
  EXPECT_EQ(nice_ticks(-120, 480, 6), (std::vector<double>{-200, -100, 0, 100, 200, 300, 400, 500}));
  const auto flat = nice_ticks(5, 5, 5);
  EXPECT_LT(flat.front(), 5);
  EXPECT_GT(flat.back(), 5);
}

TEST(SvgPlot, WellFormedAndPointsScaled) {
  std::vector<Series> series(2);
  series[0].name = "loss";
  series[1].name = "eval_loss <&>";
  for (int i = 0; i <= 100; i += 10) {
    series[0].x.push_back(i);
    series[0].y.push_back(10.0 - 0.05 * i);
  }
  series[1].x = {0, 50, 100};
  series[1].y = {9.5, NAN, 5.2};  // non-finite points are skipped
  const PlotOptions opt{.title = "run 1", .x_label = "step"};
  const std::string svg = render_svg(series, opt);
  int n_elements = 0;
  EXPECT_TRUE(balanced_tags(svg, n_elements)) << svg;
  EXPECT_GT(n_elements, 30);
  EXPECT_NE(svg.find("<svg xmlns=\"http://www.w3.org/2000/svg\""), std::string::npos);
  EXPECT_NE(svg.find(">run 1</text>"), std::string::npos);
  EXPECT_NE(svg.find("eval_loss &lt;&amp;&gt;"), std::string::npos);

  const auto layout = plot_layout(series, opt);
  ASSERT_EQ(layout.size(), 2u);
  EXPECT_GT(layout[1].top, layout[0].top + layout[0].height);  // stacked panels
  const auto pts = polyline_points(svg, 0);
  ASSERT_EQ(pts.size(), 11u);
  const PanelGeometry& g = layout[0];
  // Axis ranges come from nice ticks: x 0..100, y 5..10 → first point at the left edge, top; last at right, bottom.
  EXPECT_DOUBLE_EQ(g.x_min, 0);
  EXPECT_DOUBLE_EQ(g.x_max, 100);
  EXPECT_NEAR(pts.front().first, g.left, 0.01);
  EXPECT_NEAR(pts.back().first, g.left + g.width, 0.01);
  for (size_t k = 0; k < pts.size(); ++k) {
    EXPECT_NEAR(pts[k].first, g.left + (series[0].x[k] - g.x_min) / (g.x_max - g.x_min) * g.width, 0.01);
    EXPECT_NEAR(pts[k].second, g.top + g.height - (series[0].y[k] - g.y_min) / (g.y_max - g.y_min) * g.height, 0.01);
  }
  EXPECT_EQ(polyline_points(svg, 1).size(), 2u);
  // Every tick label of the y axis of panel 0 is there.
  for (double t : g.y_ticks) EXPECT_NE(svg.find(fmt::format(">{}</text>", t)), std::string::npos) << t;
}

TEST(SvgPlot, LargeAndSmallTickLabels) {
  std::vector<Series> series(1);
  series[0] = {.name = "lr", .x = {0, 1.3e6}, .y = {0, 3e-5}};
  const std::string svg = render_svg(series, {});
  for (const char* label : {">200k</text>", ">1.2M</text>", ">3e-05</text>"})
    EXPECT_NE(svg.find(label), std::string::npos) << label;
}

TEST(SvgPlot, EmptySeriesSaysNoData) {
  std::vector<Series> series(1);
  series[0].name = "lr";
  const std::string svg = render_svg(series, {});
  int n = 0;
  EXPECT_TRUE(balanced_tags(svg, n));
  EXPECT_NE(svg.find("no data"), std::string::npos);
  EXPECT_EQ(svg.find("<polyline"), std::string::npos);
}

TEST(MetricsSeries, ReadsFieldsAndNamesMissingOnes) {
  const auto file = std::filesystem::temp_directory_path() / fmt::format("whale-plot-{}.jsonl", ::getpid());
  std::ofstream(file) << "{\"step\": 1, \"tokens\": 100, \"loss\": 5.0, \"lr\": 0.1}\n"
                         "{\"step\": 2, \"tokens\": 200, \"loss\": 4.0, \"lr\": 0.2, \"eval_loss\": 4.5}\n\n"
                         "{\"step\": 3, \"tokens\": 300, \"loss\": null, \"lr\": 0.3}\n";
  const auto def = read_metrics_series(file, "step", {});
  ASSERT_EQ(def.size(), 3u);
  EXPECT_EQ(def[0].name, "loss");
  EXPECT_EQ(def[0].x, (std::vector<double>{1, 2}));
  EXPECT_EQ(def[1].name, "eval_loss");
  EXPECT_EQ(def[1].y, (std::vector<double>{4.5}));
  const auto by_tokens = read_metrics_series(file, "tokens", {"lr"});
  EXPECT_EQ(by_tokens[0].x, (std::vector<double>{100, 200, 300}));
  EXPECT_THROW(read_metrics_series(file, "epoch", {}), Error);
  try {
    read_metrics_series(file, "step", {"los"});
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'los' (numeric fields: eval_loss, loss, lr, step, tokens)"),
              std::string::npos) << e.what();
  }
  std::ofstream(file, std::ios::app) << "garbage\n";
  EXPECT_THROW(read_metrics_series(file, "step", {}), Error);
  std::filesystem::remove(file);
}

}  // namespace
}  // namespace whale
