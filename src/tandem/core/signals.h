#pragma once
// Graceful stop on SIGINT/SIGTERM: the first signal sets a flag that long loops poll (they finish
// the current step, checkpoint and exit 0); a second signal exits at once with status 130. Files
// are only ever published by rename, so exiting at any point leaves nothing half-written.
namespace tandem {

void install_stop_handler();
bool stop_requested();
void request_stop();  // the same as receiving a signal; for tests

}  // namespace tandem
