#!/usr/bin/env bash
# Makes a local RabbitMQ broker available on 127.0.0.1:5672 (guest/guest) for
# the kumo.amqp tests. Safe to run repeatedly: installs Debian's
# rabbitmq-server only when missing, starts it only when nothing listens yet,
# then waits until the AMQP port accepts connections.
set -euo pipefail

PORT="${AMQP_PORT:-5672}"
WAIT_SECONDS="${RABBITMQ_WAIT_SECONDS:-90}"

log() { echo "[rabbitmq.sh] $*" >&2; }

port_open() {
  # bash's /dev/tcp avoids depending on nc/ss being installed.
  (exec 3<>"/dev/tcp/127.0.0.1/${PORT}") 2>/dev/null
}

if port_open; then
  log "a broker already listens on 127.0.0.1:${PORT}"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

if ! command -v rabbitmq-server >/dev/null 2>&1 && [ ! -x /usr/lib/rabbitmq/bin/rabbitmq-server ]; then
  log "installing rabbitmq-server with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # policy-rc.d 101 keeps the package's init script from starting the service
  # inside containers without an init system; we start it ourselves below.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    REMOVE_POLICY_RC=1
  fi
  $SUDO apt-get install -y -qq --no-install-recommends rabbitmq-server >/dev/null
  if [ "${REMOVE_POLICY_RC:-0}" = 1 ]; then $SUDO rm -f /usr/sbin/policy-rc.d; fi
fi

SERVER_BIN="$(command -v rabbitmq-server || echo /usr/lib/rabbitmq/bin/rabbitmq-server)"

log "starting ${SERVER_BIN}"
LOG_FILE="${RABBITMQ_LOG_FILE:-/tmp/rabbitmq-server.log}"
if [ "$(id -u)" -eq 0 ] && id rabbitmq >/dev/null 2>&1; then
  # The Debian package expects to run as the rabbitmq user (cookie, mnesia dir).
  nohup su -s /bin/sh rabbitmq -c "RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT=${PORT} ${SERVER_BIN}" >"${LOG_FILE}" 2>&1 &
else
  RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="${PORT}" nohup $SUDO "${SERVER_BIN}" >"${LOG_FILE}" 2>&1 &
fi

for _ in $(seq 1 "${WAIT_SECONDS}"); do
  if port_open; then
    log "broker accepts connections on 127.0.0.1:${PORT}"
    exit 0
  fi
  sleep 1
done
log "broker did not open 127.0.0.1:${PORT} within ${WAIT_SECONDS}s; last log lines:"
tail -n 30 "${LOG_FILE}" >&2 || true
exit 1
