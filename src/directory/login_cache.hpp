// Remembers recent successful password logins so that a client that logs in again and again (POP3
// polling every few minutes, an IMAP client opening five connections) costs one yescrypt check per
// `ttl`, not one per login: a yescrypt check takes ~20 ms of CPU and 16 MiB here. Like saslauthd's
// credential cache (-c), but what it keeps is an HMAC-SHA-256, under a key that exists only in this
// process's memory, of the stored hash and the password: never the password, and nothing that
// outlives the process. Including the stored hash means a password change (which changes the hash)
// invalidates the entry at once. Must never answer true for anything but the exact password that
// last verified against that exact stored hash, and never decide a failure: a miss or a mismatch
// falls through to the full check, so wrong passwords and unknown users cost what they always did.
// Thread-safe.
#pragma once
#include <array>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace tern::directory {

class LoginCache {
public:
    using Clock = std::chrono::steady_clock;
    // ttl 0 disables the cache (every check misses, nothing is kept).
    LoginCache(std::chrono::seconds ttl, std::size_t capacity);

    // True when `password` verified for `user` against `stored_hash` within the last ttl.
    bool hit(std::string_view user, std::string_view stored_hash, std::string_view password,
             Clock::time_point now = Clock::now());
    // After a successful full check.
    void remember(std::string_view user, std::string_view stored_hash, std::string_view password,
                  Clock::time_point now = Clock::now());
    void forget(std::string_view user);
    std::size_t size();

private:
    using Mac = std::array<unsigned char, 32>;
    bool mac(std::string_view stored_hash, std::string_view password, Mac& out) const;
    struct Entry {
        Mac mac;
        Clock::time_point expires;
    };
    std::chrono::seconds ttl_;
    std::size_t capacity_;
    std::array<unsigned char, 32> key_{};
    bool usable_ = false;  // a key was drawn
    std::mutex mu_;
    std::unordered_map<std::string, Entry> entries_;
};

}  // namespace tern::directory
