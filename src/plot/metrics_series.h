// Series for plotting from a JSONL metrics log (train/metrics.h): one object per line.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "plot/svg_plot.h"

namespace whale {

// x from the field x_key, one series per y key, using the lines that hold both as numbers. With no y keys:
// "loss", "eval_loss" and "lr", those present. A malformed line, or a requested key no line holds, is a
// whale::Error naming the file (and line, or the keys that are there).
std::vector<Series> read_metrics_series(const std::filesystem::path& file, const std::string& x_key,
                                        std::vector<std::string> y_keys);

}  // namespace whale
