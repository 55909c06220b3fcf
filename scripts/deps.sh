#!/usr/bin/env bash
# Installs the Debian 12 packages Tern needs, and only those that are missing.
# Usage: scripts/deps.sh [build|test|bench]   (build = compile and run ternd, plus swaks for the README's
#        example; test = build + what the test suite uses; bench = build + bench/imap_summary_bench.py's
#        and bench/client_bench.sh's)
# Never installs anything from outside Debian's archive. Packages are installed without their
# recommendations, so every package a script or test uses must be named here, including the ones a
# fuller install would have pulled in (swaks needs libnet-ssleay-perl and libio-socket-ssl-perl for
# TLS: without them `swaks --tls` fails with "requires Net::SSLeay").
set -euo pipefail
build=(g++ cmake ninja-build pkg-config ccache libboost1.81-dev libssl-dev libsqlite3-dev libc-ares-dev
       libtomlplusplus-dev libcli11-dev libcrypt-dev zlib1g-dev libgumbo-dev libmagic-dev libncurses-dev
       swaks libnet-ssleay-perl libio-socket-ssl-perl)
test=(libgtest-dev libgmock-dev python3 swaks fetchmail clang-16 libclang-rt-16-dev dnsmasq
      openssl postfix dovecot-imapd isync offlineimap3 mutt tmux
      dovecot-pop3d dovecot-lmtpd)  # tests/e2e/dovecotlib.py: private Dovecot for tern's tests
bench=(python3 dovecot-imapd)  # bench/imap_bench.sh, bench/imap_summary_bench.py (the others install their own)
bench+=(isync mutt openssl)     # bench/client_bench.sh (mbsync, mutt under script(1) from bsdutils, essential)
want=("${build[@]}")
[ "${1:-build}" = test ] && want+=("${test[@]}")
[ "${1:-build}" = bench ] && want+=("${bench[@]}")

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -qq
  # postfix (tests and bench run private instances): no system instance listening on port 25.
  echo "postfix postfix/main_mailer_type select No configuration" | $sudo debconf-set-selections
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
