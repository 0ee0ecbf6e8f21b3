#include "tandem/comm/communicator.h"

namespace tandem {

Communicator& single_process() {
  static SingleProcess instance;
  return instance;
}

}  // namespace tandem
