#pragma once
// metrics.jsonl: one JSON object per line, flushed as written, so a run can be plotted while it
// trains and nothing is lost when it is killed.
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tandem/report/records.h"

namespace tandem {

class MetricsLog {
 public:
  // Appends to `path` (creating it), so a resumed run continues the same file. An empty path
  // discards every record (the ranks of a multi-process run other than rank 0).
  explicit MetricsLog(const std::string& path);
  ~MetricsLog();
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;
  void write(const nlohmann::json& record);
  // A typed record (report/records.h).
  template <class Record>
    requires requires(const Record& r) { records::to_json(r); }
  void write(const Record& record) {
    write(records::to_json(record));
  }
  // Keeps only the records `keep` accepts (rewriting the file atomically), e.g. on resume, to drop
  // what a killed run logged after the checkpoint it resumes from, so no step appears twice.
  void retain(const std::function<bool(const nlohmann::json&)>& keep);

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
};

// Reads every record back (for charts and reports); skips a torn last line.
std::vector<nlohmann::json> read_metrics(const std::string& path);

}  // namespace tandem
