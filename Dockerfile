# syntax=docker/dockerfile:1
# Multi-stage build: a static fjord binary on a minimal, non-root image.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/fjord ./cmd/fjord \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/fjord /usr/local/bin/fjord
# Data lives in a volume owned by the non-root user (uid 65532).
COPY --from=build --chown=65532:65532 /out/data /var/lib/fjord
WORKDIR /var/lib/fjord
VOLUME ["/var/lib/fjord"]
ENV FJORD_HTTP_ADDR=:8080 \
    FJORD_DATA_DIR=/var/lib/fjord \
    FJORD_GOSSIP_ADDR=0.0.0.0:7946
EXPOSE 8080 7946/tcp 7946/udp
USER 65532:65532
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/fjord", "healthcheck", "--url", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["/usr/local/bin/fjord"]
CMD ["serve"]
