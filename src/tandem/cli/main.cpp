// tandem: one binary, one subcommand per file in this folder.
#include <cstdio>

int main() {
  std::puts("tandem");
  return 0;
}
