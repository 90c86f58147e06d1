# syntax=docker/dockerfile:1
# ewsconf in a container: the suite and the schemas are compiled into the binary, so the final
# image holds only the binary and the shared libraries it links (libxml2, OpenSSL).
#
#   docker build -t ewsconf .
#   docker run --rm ewsconf list
#
# Both stages are on the same Debian release, so the libxml2 and OpenSSL the binary is linked
# against in the first are the ones it finds in the second.

FROM rust:1.93-slim-bookworm AS build
# Versions are left to the Debian release: a pinned version disappears from the archive with
# the next security update.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends pkg-config libxml2-dev libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY harness ./harness
COPY schemas ./schemas
COPY cases ./cases
COPY requirements.toml ./
RUN cargo build --release --locked --bin ewsconf \
 && cp target/release/ewsconf /usr/local/bin/ewsconf

FROM debian:bookworm-slim
# ca-certificates: a real server's TLS certificate is verified against the system's CAs.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends libxml2 libssl3 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --no-create-home --home-dir /srv/ewsconf ewsconf \
 && install -d -o ewsconf -g ewsconf -m 0755 /srv/ewsconf
COPY --from=build /usr/local/bin/ewsconf /usr/local/bin/ewsconf
USER 10001:10001
# Reports go to /srv/ewsconf/reports unless --report-dir says otherwise: mount a folder there, and run
# as its owner (`--user "$(id -u):$(id -g)"`) so the container may write into it.
WORKDIR /srv/ewsconf
# `ewsconf mock --listen 0.0.0.0:8080` serves the reference mock from the container.
EXPOSE 8080
ENTRYPOINT ["ewsconf"]
CMD ["--help"]
