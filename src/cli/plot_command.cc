// whale plot metrics.jsonl -o loss.svg [--x step|tokens] [--y loss,eval_loss,...] [--title TEXT]
//   Line charts (one panel per series) of a training metrics log, as SVG.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/error.h"
#include "core/regular_file.h"
#include "plot/metrics_series.h"
#include "plot/svg_plot.h"

namespace whale::cli {

void add_plot_command(CLI::App& app) {
  struct Options {
    std::string input, out, x = "step", title;
    std::vector<std::string> y;
  };
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("plot", "Plot a JSONL metrics log as SVG line charts");
  cmd->add_option("metrics", opt->input, "metrics log (JSON lines)")->required();
  cmd->add_option("-o,--out", opt->out, "output .svg file")->required();
  cmd->add_option("--x", opt->x, "field for the x axis (step, tokens, ...)");
  cmd->add_option("--y", opt->y, "fields to plot, one panel each (default: loss, eval_loss, lr)")->delimiter(',');
  cmd->add_option("--title", opt->title, "chart title (default: the metrics file name)");
  cmd->callback([opt] {
    const std::filesystem::path out(opt->out);
    if (out.extension() != ".svg")
      fail("{}: only .svg output is supported (convert it afterwards, e.g. `rsvg-convert x.svg -o x.png`)",
           opt->out);
    const std::vector<Series> series = read_metrics_series(opt->input, opt->x, opt->y);
    PlotOptions options;
    options.title = opt->title.empty() ? std::filesystem::path(opt->input).filename().string() : opt->title;
    options.x_label = opt->x;
    const std::string svg = render_svg(series, options);
    write_file_atomically(out, [&](std::ostream& file) { file << svg; });
    std::fprintf(stderr, "wrote %s (%zu panels)\n", opt->out.c_str(), series.size());
  });
}

}  // namespace whale::cli
