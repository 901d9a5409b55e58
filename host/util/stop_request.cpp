#include "util/stop_request.hpp"

#include <csignal>
#include <initializer_list>

namespace cap::util {

namespace {

volatile std::sig_atomic_t g_signal = 0;

void on_stop_signal(int signal) {
    g_signal = signal;
    std::signal(signal, SIG_DFL);  // a second one is not polite any more
}

}  // namespace

void install_stop_handlers() {
    for (int s : {SIGTERM, SIGINT, SIGUSR1}) {
        struct sigaction action {};
        action.sa_handler = on_stop_signal;
        sigemptyset(&action.sa_mask);
        sigaction(s, &action, nullptr);
    }
}

bool stop_requested() { return g_signal != 0; }

const char* stop_signal_name() {
    switch (g_signal) {
        case SIGTERM: return "SIGTERM";
        case SIGINT: return "SIGINT";
        case SIGUSR1: return "SIGUSR1";
        default: return g_signal ? "a signal" : "";
    }
}

void request_stop(int signal) { g_signal = signal; }

}  // namespace cap::util
