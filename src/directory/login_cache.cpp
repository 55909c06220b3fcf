// See login_cache.hpp.
#include "directory/login_cache.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

namespace tern::directory {

LoginCache::LoginCache(std::chrono::seconds ttl, std::size_t capacity) : ttl_(ttl), capacity_(capacity) {
    usable_ = ttl_.count() > 0 && capacity_ > 0 && RAND_bytes(key_.data(), static_cast<int>(key_.size())) == 1;
}

bool LoginCache::mac(std::string_view stored_hash, std::string_view password, Mac& out) const {
    // The stored hash never contains NUL, so "hash NUL password" is unambiguous.
    std::string data;
    data.reserve(stored_hash.size() + 1 + password.size());
    data.append(stored_hash).push_back('\0');
    data.append(password);
    unsigned int len = 0;
    bool ok = HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
                   reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &len) &&
              len == out.size();
    OPENSSL_cleanse(data.data(), data.size());
    return ok;
}

bool LoginCache::hit(std::string_view user, std::string_view stored_hash, std::string_view password,
                     Clock::time_point now) {
    if (!usable_) return false;
    Mac m;
    if (!mac(stored_hash, password, m)) return false;
    std::lock_guard lock(mu_);
    auto it = entries_.find(std::string(user));
    if (it == entries_.end()) return false;
    if (now >= it->second.expires) {
        entries_.erase(it);
        return false;
    }
    return CRYPTO_memcmp(m.data(), it->second.mac.data(), m.size()) == 0;
}

void LoginCache::remember(std::string_view user, std::string_view stored_hash, std::string_view password,
                          Clock::time_point now) {
    if (!usable_) return;
    Entry e;
    if (!mac(stored_hash, password, e.mac)) return;
    e.expires = now + ttl_;
    std::lock_guard lock(mu_);
    if (entries_.size() >= capacity_ && !entries_.contains(std::string(user))) {
        std::erase_if(entries_, [&](const auto& kv) { return now >= kv.second.expires; });
        if (entries_.size() >= capacity_) entries_.clear();  // bounded: start over rather than grow
    }
    entries_[std::string(user)] = e;
}

void LoginCache::forget(std::string_view user) {
    std::lock_guard lock(mu_);
    entries_.erase(std::string(user));
}

std::size_t LoginCache::size() {
    std::lock_guard lock(mu_);
    return entries_.size();
}

}  // namespace tern::directory
