// A polite stop: SIGTERM, SIGINT and SIGUSR1 (what Slurm sends before a time limit or on
// preemption, and Ctrl-C) only set a flag. Training reads it after each optimizer step, writes a
// checkpoint and stops with kExitInterrupted, so `cap run --resume` loses nothing. A second
// signal of the same kind falls back to the default action (the process dies at once).
#pragma once

namespace cap::util {

// The exit status of a run stopped by a signal after its checkpoint: EX_TEMPFAIL, "try again".
constexpr int kExitInterrupted = 75;

void install_stop_handlers();
bool stop_requested();
// "SIGTERM", ...; "" when none arrived.
const char* stop_signal_name();
// For tests: as if `signal` had arrived.
void request_stop(int signal);

// Thrown where a stop request ends training, after the checkpoint is written.
struct Interrupted {
    const char* signal;
};

}  // namespace cap::util
