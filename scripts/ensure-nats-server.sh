#!/usr/bin/env bash
# Makes sure nats-server is installed (integration tests start their own private servers).
# Quiet when it is already there; installs it with apt when running as root; otherwise explains.
set -euo pipefail

# Debian installs to /usr/sbin, which a non-root PATH often lacks; the testkit looks there too.
find_nats_server() {
  PATH="${PATH}:/usr/sbin:/usr/local/sbin:/sbin" command -v nats-server 2>/dev/null
}

if [[ -n "${NATS_SERVER_BIN:-}" && -x "${NATS_SERVER_BIN}" ]]; then
  exit 0
fi
if find_nats_server >/dev/null; then
  exit 0
fi

if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-nats-server: installing nats-server with apt-get" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >/dev/null
  if binary="$(find_nats_server)"; then
    echo "ensure-nats-server: installed $("${binary}" --version)" >&2
    exit 0
  fi
  echo "ensure-nats-server: apt-get finished but nats-server is still not found" >&2
  exit 1
fi

cat >&2 <<'MSG'
ensure-nats-server: nats-server is not installed; the luact tests need it.
Install it with one of:
  Debian/Ubuntu:  sudo apt-get update && sudo apt-get install -y nats-server
  Any Linux/macOS: download a release from https://github.com/nats-io/nats-server/releases,
                   unpack it and put the nats-server binary on PATH
                   (or set NATS_SERVER_BIN=/path/to/nats-server).
MSG
exit 1
