# syntax=docker/dockerfile:1
# The cpppo image: the EtherNet/IP simulator (python -m cpppo.server.enip) with its web API, the
# spec's (section 7.2) cpppo/cpppo and cpppo/scada images in one. See docs/containers.md.
#
#   docker build -t cpppo/cpppo .
#   docker run -p 44818:44818/tcp -p 44818:44818/udp -p 8080:8080 cpppo/cpppo        # SCADA=DINT[1000]
#   docker run -p 44818:44818 cpppo/cpppo 'Tank_Level=REAL' 'Counts=DINT[10]'        # other tags
#   docker run cpppo/cpppo modbus_sim --address 0.0.0.0:502 40001-40100=0           # any cpppo program
#
# CI lints this file (hadolint) and runs its ENTRYPOINT, CMD and HEALTHCHECK as plain processes
# (tests/deploy/test_containers.py); it does not build the image.

ARG PYTHON_IMAGE=python:3.12-slim-bookworm

# --- builder: a wheel of this checkout, installed with the `all` extras into a venv ---------------
FROM ${PYTHON_IMAGE} AS builder
# (pip compiles the installed modules to bytecode here: the final stage only reads it.)
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
# The wheel is built from the checkout (its build backend, hatchling, is fetched by pip's isolated
# build), then installed with its extras; only the venv goes on to the final stage.
RUN python -m venv /opt/cpppo \
 && /opt/cpppo/bin/pip wheel --no-deps --wheel-dir /wheels . \
 && /opt/cpppo/bin/pip install "$(ls /wheels/cpppo-*.whl)[all]" \
 && /opt/cpppo/bin/python -m cpppo.server.enip --help > /dev/null

# --- final: slim Python, the venv, a non-root user ----------------------------------------------
FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="cpppo" \
      org.opencontainers.image.description="EtherNet/IP CIP (ControlLogix, PowerFlex) and Modbus simulators, with a web API" \
      org.opencontainers.image.licenses="GPL-3.0-or-later"
# CPPPO_BIND, CPPPO_ENIP_PORT and CPPPO_WEB_PORT place the simulator's EtherNet/IP (TCP and UDP)
# and web API endpoints; CPPPO_SERVICE_NAME is the host name(s), space-separated, that clients
# may give in a web request's Host header (the container's service name; besides its own
# addresses and localhost). CPPPO_WEB_TOKEN, when set, is the token every changing web request
# must carry.
ENV PATH=/opt/cpppo/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CPPPO_BIND=0.0.0.0 \
    CPPPO_ENIP_PORT=44818 \
    CPPPO_WEB_PORT=8080 \
    CPPPO_SERVICE_NAME=cpppo
# The user cpppo, and /var/lib/cpppo/history, where a history volume mounts (a new named
# volume takes this folder's owner).
RUN groupadd --system --gid 10001 cpppo \
 && useradd --system --uid 10001 --gid cpppo --home-dir /var/lib/cpppo --shell /usr/sbin/nologin cpppo \
 && mkdir -p /var/lib/cpppo/history \
 && chown -R cpppo:cpppo /var/lib/cpppo
COPY --from=builder /opt/cpppo /opt/cpppo
COPY --chmod=0755 deploy/entrypoint.sh /usr/local/bin/cpppo-entrypoint
# Numeric, so that Kubernetes can verify runAsNonRoot (the name is cpppo:cpppo).
USER 10001:10001
WORKDIR /var/lib/cpppo
EXPOSE 44818/tcp 44818/udp 8080/tcp
# Our own client asks the simulator for its identity on loopback; it exits non-zero when no reply
# comes within 2 s (or the connection is refused). sh expands the port.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["sh", "-c", "exec python -m cpppo.server.enip.client --list-identity --address \"127.0.0.1:${CPPPO_ENIP_PORT}\" --timeout 2"]
# The simulator, serving EtherNet/IP on CPPPO_BIND:CPPPO_ENIP_PORT and its web API on
# CPPPO_BIND:CPPPO_WEB_PORT (deploy/entrypoint.sh); the arguments are its tags and options, or a
# whole other command (eg. modbus_sim ..., enip_fleet ..., python -m ...).
ENTRYPOINT ["/usr/local/bin/cpppo-entrypoint"]
# The spec's cpppo/scada image: 1000 DINTs in tag SCADA (give other tags to override).
CMD ["SCADA=DINT[1000]"]
