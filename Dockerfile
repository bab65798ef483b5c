# scimbridge container image: a static binary on distroless (CA
# certificates and tzdata, no shell), running as a non-root user with its
# data file on the /data volume. Build: docker build -t scimbridge .
# Everything is configured from the environment (README, Deploy); mount a
# config.yaml at /etc/scimbridge/config.yaml for connectors.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The one build script CI also runs (test/container).
RUN sh deploy/build.sh /out/scimbridge && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/scimbridge /usr/local/bin/scimbridge
# 65532 is distroless's "nonroot"; /data must be its own for a fresh volume.
COPY --from=build --chown=65532:65532 /out/data /data
ENV SCIMBRIDGE_LISTEN=0.0.0.0:8080 \
    SCIMBRIDGE_DATA_DIR=/data
# ./config.yaml is optional: without it the bridge runs from the environment.
WORKDIR /etc/scimbridge
USER 65532:65532
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["/usr/local/bin/scimbridge", "healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/scimbridge"]
CMD ["serve"]
