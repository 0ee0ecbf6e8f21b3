// The backend table (registry.h) against what is read from it: make_backend(),
// available_backends(), backend_choices(), describe_backends(). A new table line is checked here
// without a new test.
#include "tandem/backend/registry.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "tandem/backend/backend.h"
#include "tandem/core/error.h"

namespace tandem {
namespace {

std::vector<std::string> table_names() {
  std::vector<std::string> names;
  for (const BackendEntry& e : backend_table()) names.emplace_back(e.name);
  return names;
}

// Names are typed on command lines and become test names: lowercase, digits and '_' only.
bool plain_name(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

TEST(Registry, EntriesAreNamedDescribedAndUnique) {
  std::set<std::string> seen;
  for (const BackendEntry& e : backend_table()) {
    EXPECT_TRUE(plain_name(e.name)) << "'" << e.name << "'";
    EXPECT_TRUE(seen.insert(e.name).second) << "listed twice: " << e.name;
    EXPECT_GT(std::string(e.description).size(), 10u) << e.name;
    EXPECT_NE(e.make, nullptr) << e.name;
    EXPECT_NE(e.available, nullptr) << e.name;
  }
  // cpu is the backend every machine has: first, so help texts and defaults start with it.
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(table_names().front(), "cpu");
  EXPECT_TRUE(backend_table().front().available());
  EXPECT_TRUE(seen.count("cuda")) << "known even when not built, so its error can say why";
}

TEST(Registry, AvailableBackendsAreTheAvailableEntriesInTableOrder) {
  std::vector<std::string> want;
  for (const BackendEntry& e : backend_table())
    if (e.available()) want.emplace_back(e.name);
  EXPECT_EQ(available_backends(), want);
}

TEST(Registry, EveryAvailableNameConstructsAndUnavailableOnesSayWhy) {
  for (const BackendEntry& e : backend_table()) {
    if (e.available()) {
      const auto be = make_backend(e.name);
      ASSERT_NE(be, nullptr) << e.name;
      EXPECT_EQ(be->name(), e.name);
      continue;
    }
    try {
      make_backend(e.name);
      ADD_FAILURE() << e.name << ": not available, yet make_backend() returned";
    } catch (const Error& err) {
      // The factory's own reason (not built, no device), not the unknown-name error.
      const std::string what = err.what();
      EXPECT_EQ(what.find("unknown backend"), std::string::npos) << what;
      EXPECT_GT(what.size(), 20u) << e.name;
    }
  }
}

TEST(Registry, UnknownNameListsTheKnownOnes) {
  try {
    make_backend("nope");
    FAIL() << "make_backend(\"nope\") should throw";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("unknown backend 'nope'"), std::string::npos) << what;
    for (const std::string& name : table_names())
      EXPECT_NE(what.find(name), std::string::npos) << name << " missing from: " << what;
  }
}

TEST(Registry, HelpTexts) {
  std::string want;
  const std::vector<std::string> names = table_names();
  for (size_t i = 0; i < names.size(); ++i)
    want += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  EXPECT_EQ(backend_choices(), want);
  EXPECT_EQ(backend_choices().rfind("cpu", 0), 0u);

  const std::string described = describe_backends();
  EXPECT_EQ(size_t(std::count(described.begin(), described.end(), '\n')), names.size());
  for (const BackendEntry& e : backend_table()) {
    EXPECT_NE(described.find(e.name), std::string::npos) << described;
    EXPECT_NE(described.find(e.description), std::string::npos) << described;
  }
}

}  // namespace
}  // namespace tandem
