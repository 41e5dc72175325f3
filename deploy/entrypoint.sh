#!/bin/sh
# Entry point of the cpppo image (Dockerfile): run the EtherNet/IP simulator with its web API.
#
#   cpppo-entrypoint [simulator options] TAG=TYPE[n] ...   the simulator (python -m cpppo.server.enip)
#   cpppo-entrypoint COMMAND [ARG ...]                      COMMAND itself, when it is a program on
#                                                           PATH (eg. modbus_sim, enip_fleet, python)
#
# The simulator binds EtherNet/IP (TCP and UDP) to ${CPPPO_BIND}:${CPPPO_ENIP_PORT} and its web
# API to ${CPPPO_BIND}:${CPPPO_WEB_PORT}; each name in ${CPPPO_SERVICE_NAME} (space-separated) is
# allowed as the Host of a web request (--web-allow-host). The Dockerfile sets their defaults.
# The program is exec'd: it is the container's process 1, and gets docker stop's SIGTERM.
set -eu

case "${1:-}" in
    -* | *=* | "") ;;
    *)
        if command -v "$1" > /dev/null 2>&1; then
            exec "$@"
        fi
        ;;
esac

bind="${CPPPO_BIND:-0.0.0.0}"
allow=""
set -f # the names are split on spaces, never expanded as file patterns
for name in ${CPPPO_SERVICE_NAME-cpppo}; do
    allow="$allow --web-allow-host $name"
done
# $allow is split on purpose: one --web-allow-host NAME pair per name (names have no spaces).
# shellcheck disable=SC2086
exec python -m cpppo.server.enip \
    --address "$bind:${CPPPO_ENIP_PORT:-44818}" \
    --web "$bind:${CPPPO_WEB_PORT:-8080}" \
    $allow "$@"
