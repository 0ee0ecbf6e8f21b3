#pragma once
// How OpenMP's idle threads wait between parallel regions, chosen once per process (see the .cpp).

namespace tandem {

// Sets GOMP_SPINCOUNT or OMP_WAIT_POLICY for this machine's present load and starts the program
// again so libgomp reads it. Returns (without exec) when the user set either variable, when the
// choice is already made, or when exec fails. Call first thing in main.
void choose_wait_policy(char** argv);

// What the environment says: "passive", "spin N" or "libgomp default", for logs.
const char* wait_policy_in_effect();

}  // namespace tandem
