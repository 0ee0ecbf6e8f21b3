#pragma once
// Line charts as standalone SVG files: what a person looks at to see a run (loss, accuracy,
// reward). No plotting dependency: axes, ticks, grid, legend and polylines drawn directly.
#include <optional>
#include <string>
#include <vector>

namespace tandem {

struct Series {
  std::string label;
  std::vector<double> x, y;
};

struct ChartSpec {
  std::string title, x_label, y_label;
  bool log_y = false;
  std::optional<double> y_min, y_max;  // fixed range (e.g. 0..1 for accuracy); else from data
};

std::string svg_line_chart(const ChartSpec& spec, const std::vector<Series>& series);

}  // namespace tandem
