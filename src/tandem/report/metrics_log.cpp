#include "tandem/report/metrics_log.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "tandem/core/error.h"
#include "tandem/core/json_text.h"
#include "tandem/io/file.h"

namespace tandem {

MetricsLog::MetricsLog(const std::string& path) : path_(path) {
  if (path.empty()) return;  // discards (a rank other than 0)
  file_ = std::fopen(path.c_str(), "a");
  TANDEM_CHECK(file_ != nullptr, "{}: cannot open for writing: {}", path, std::strerror(errno));
}

MetricsLog::~MetricsLog() {
  if (file_) std::fclose(file_);
}

void MetricsLog::write(const nlohmann::json& record) {
  if (path_.empty()) return;
  const std::string line = json_text(record) + "\n";
  TANDEM_CHECK(std::fwrite(line.data(), 1, line.size(), file_) == line.size() &&
                   std::fflush(file_) == 0,
               "{}: write failed: {}", path_, std::strerror(errno));
}

void MetricsLog::retain(const std::function<bool(const nlohmann::json&)>& keep) {
  if (path_.empty()) return;
  std::string kept;
  for (const auto& r : read_metrics(path_))
    if (keep(r)) kept += json_text(r) + "\n";
  std::fclose(file_);
  file_ = nullptr;
  write_file_atomic(path_, kept);
  file_ = std::fopen(path_.c_str(), "a");
  TANDEM_CHECK(file_ != nullptr, "{}: cannot open for writing: {}", path_, std::strerror(errno));
}

std::vector<nlohmann::json> read_metrics(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    auto j = parse_json_text(line, /*allow_exceptions=*/false);
    if (!j.is_discarded()) out.push_back(std::move(j));
  }
  return out;
}

}  // namespace tandem
