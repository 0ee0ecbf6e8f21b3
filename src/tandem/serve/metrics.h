#pragma once
// The server's numbers for Prometheus (GET /metrics, text exposition format 0.0.4): requests by
// endpoint and status, tokens, queue depth and busy slots, and latency histograms (time to first
// token, time between tokens, whole requests). Thread-safe: HTTP threads and the engine's thread
// record into it while a scrape reads it.
#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace tandem::serve {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double seconds);
  // Lines of one histogram: name_bucket{le=...}, name_sum, name_count.
  std::string render(const std::string& name) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket (not cumulative), plus +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

class ServerMetrics {
 public:
  ServerMetrics();
  void request(const std::string& endpoint, int status);
  void rejected(const std::string& reason);  // queue_full, draining, loading
  void cancelled();                           // a client went away mid-request
  void prompt_tokens(int64_t n);
  void generated_token();
  void time_to_first_token(double s);
  void inter_token(double s);
  void request_seconds(double s);
  // Gauges are read when scraped.
  struct Gauges {  // read when scraped
    size_t queue_depth = 0;
    int busy_slots = 0, slots = 0;
    int64_t in_flight = 0;
    uint64_t decode_steps = 0, decode_rows = 0, prefill_tokens = 0;
    double engine_busy_seconds = 0;
  };
  std::string render(const Gauges& g) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  std::map<std::string, uint64_t> rejected_;
  uint64_t cancelled_ = 0;
  int64_t prompt_tokens_ = 0, generated_tokens_ = 0;
  Histogram ttft_, itl_, duration_;
};

}  // namespace tandem::serve
