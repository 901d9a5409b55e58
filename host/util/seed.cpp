#include "util/seed.hpp"

namespace cap::util {

uint64_t derive_seed(uint64_t seed, const char* stream) {
    if (!stream) return seed;
    // FNV-1a of the stream name, then a splitmix64 finaliser.
    uint64_t h = 1469598103934665603ull;
    for (const char* p = stream; *p; ++p) h = (h ^ static_cast<unsigned char>(*p)) * 1099511628211ull;
    uint64_t z = seed ^ h;
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

}  // namespace cap::util
