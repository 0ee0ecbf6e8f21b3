#include "tandem/serve/metrics.h"

#include <fmt/format.h>

namespace tandem::serve {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double s) {
  size_t b = 0;
  while (b < bounds_.size() && s > bounds_[b]) ++b;
  ++counts_[b];
  sum_ += s;
  ++count_;
}

std::string Histogram::render(const std::string& name) const {
  std::string out;
  uint64_t cumulative = 0;
  for (size_t b = 0; b < bounds_.size(); ++b) {
    cumulative += counts_[b];
    out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, bounds_[b], cumulative);
  }
  out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n", name, count_);
  out += fmt::format("{}_sum {}\n{}_count {}\n", name, sum_, name, count_);
  return out;
}

ServerMetrics::ServerMetrics()
    : ttft_({0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}),
      itl_({0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}),
      duration_({0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}) {}

void ServerMetrics::request(const std::string& endpoint, int status) {
  std::lock_guard lock(mutex_);
  ++requests_[{endpoint, status}];
}
void ServerMetrics::rejected(const std::string& reason) {
  std::lock_guard lock(mutex_);
  ++rejected_[reason];
}
void ServerMetrics::cancelled() {
  std::lock_guard lock(mutex_);
  ++cancelled_;
}
void ServerMetrics::prompt_tokens(int64_t n) {
  std::lock_guard lock(mutex_);
  prompt_tokens_ += n;
}
void ServerMetrics::generated_token() {
  std::lock_guard lock(mutex_);
  ++generated_tokens_;
}
void ServerMetrics::time_to_first_token(double s) {
  std::lock_guard lock(mutex_);
  ttft_.observe(s);
}
void ServerMetrics::inter_token(double s) {
  std::lock_guard lock(mutex_);
  itl_.observe(s);
}
void ServerMetrics::request_seconds(double s) {
  std::lock_guard lock(mutex_);
  duration_.observe(s);
}

std::string ServerMetrics::render(const Gauges& g) const {
  std::lock_guard lock(mutex_);
  std::string out;
  auto head = [&](const char* name, const char* type, const char* help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  head("tandem_requests_total", "counter", "HTTP requests answered, by endpoint and status.");
  for (const auto& [key, n] : requests_)
    out += fmt::format("tandem_requests_total{{endpoint=\"{}\",status=\"{}\"}} {}\n", key.first,
                       key.second, n);
  head("tandem_requests_rejected_total", "counter",
       "Requests turned away before generating (queue_full, draining, loading).");
  for (const auto& [reason, n] : rejected_)
    out += fmt::format("tandem_requests_rejected_total{{reason=\"{}\"}} {}\n", reason, n);
  auto one = [&](const char* name, const char* type, const char* help, auto value) {
    head(name, type, help);
    out += fmt::format("{} {}\n", name, value);
  };
  one("tandem_requests_cancelled_total", "counter", "Requests whose client went away mid-way.",
      cancelled_);
  one("tandem_prompt_tokens_total", "counter", "Prompt tokens admitted.", prompt_tokens_);
  one("tandem_generated_tokens_total", "counter", "Tokens generated.", generated_tokens_);
  one("tandem_queue_depth", "gauge", "Sequences waiting for a slot.", g.queue_depth);
  one("tandem_busy_slots", "gauge", "Slots generating.", g.busy_slots);
  one("tandem_slots", "gauge", "Slots (sequences decoded together).", g.slots);
  one("tandem_sequences_in_flight", "gauge", "Sequences admitted and not finished.", g.in_flight);
  one("tandem_decode_steps_total", "counter", "Engine decode steps.", g.decode_steps);
  one("tandem_decode_rows_total", "counter",
      "Sequences advanced by those steps (rows / steps: the mean batch).", g.decode_rows);
  one("tandem_prefill_tokens_total", "counter", "Prompt tokens prefilled (reused prompts excluded).",
      g.prefill_tokens);
  one("tandem_engine_busy_seconds_total", "counter", "Seconds the engine spent working.",
      g.engine_busy_seconds);
  head("tandem_time_to_first_token_seconds", "histogram",
       "From a request's arrival to its first generated token.");
  out += ttft_.render("tandem_time_to_first_token_seconds");
  head("tandem_inter_token_latency_seconds", "histogram", "Between consecutive tokens of a sequence.");
  out += itl_.render("tandem_inter_token_latency_seconds");
  head("tandem_request_duration_seconds", "histogram", "Whole generation requests.");
  out += duration_.render("tandem_request_duration_seconds");
  return out;
}

}  // namespace tandem::serve
