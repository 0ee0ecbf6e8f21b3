#pragma once
// Each subcommand lives in its own file and registers itself on the CLI11 app with one function.
// Commands throw tandem::Error (exit 1) or tandem::UsageError (exit 2); main prints one line.
#include <CLI/CLI.hpp>
#include <map>
#include <string>

namespace tandem::cli {

// Number checks with messages a person reads ("--steps: must be > 0, got -5").
inline CLI::Validator number_check(double lo, bool inclusive, const char* name) {
  return CLI::Validator(
      [lo, inclusive](std::string& s) -> std::string {
        double v = 0;
        try {
          size_t used = 0;
          v = std::stod(s, &used);
          if (used != s.size()) return "expected a number, got '" + s + "'";
        } catch (...) {
          return "expected a number, got '" + s + "'";
        }
        if (inclusive ? v >= lo : v > lo) return "";
        return std::string("must be ") + (inclusive ? ">= " : "> ") + std::to_string(int(lo)) +
               ", got " + s;
      },
      name);
}
inline const CLI::Validator kPositive = number_check(0, false, "POSITIVE");
inline const CLI::Validator kNonNegative = number_check(0, true, "NON-NEGATIVE");

// The model formats `import` reads and `export` writes; a new one is one more enum value, map
// entry and a case in each command.
enum class ModelFormat { Hf, Gguf };
inline const std::map<std::string, ModelFormat> kModelFormats = {{"hf", ModelFormat::Hf},
                                                                 {"gguf", ModelFormat::Gguf}};

void add_version_command(CLI::App& app);
void add_demo_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_grpo_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_generate_command(CLI::App& app);
void add_serve_command(CLI::App& app);
void add_tokenize_command(CLI::App& app);
void add_train_tokenizer_command(CLI::App& app);
void add_export_command(CLI::App& app);
void add_import_command(CLI::App& app);
void add_task_data_command(CLI::App& app);
void add_label_command(CLI::App& app);

}  // namespace tandem::cli
