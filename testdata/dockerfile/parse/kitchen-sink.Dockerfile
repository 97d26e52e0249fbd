# syntax=docker/dockerfile:1.7
# check=error=true

ARG GO_VERSION=1.22 BASE="alpine:3.19"

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS Build
WORKDIR /src
ENV CGO_ENABLED=0 \
    GOFLAGS="-trimpath -mod=readonly"
COPY --link go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    # download first for better caching
    go mod download
COPY . .
ARG TARGETOS TARGETARCH
RUN GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app ./cmd/app

FROM ${BASE}
LABEL org.opencontainers.image.title="app" \
      "com.example.team"='platform'
RUN addgroup -S app && adduser -S app -G app
COPY --from=build --chown=app:app --chmod=0755 /out/app /usr/local/bin/app
ADD --checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d https://example.com/ca.pem /etc/ssl/
EXPOSE 8080/tcp 9090
VOLUME ["/data"]
USER app:app
HEALTHCHECK --interval=30s --timeout=3s --start-period=5s --retries=3 \
  CMD ["wget", "-qO-", "http://localhost:8080/healthz"]
STOPSIGNAL SIGTERM
SHELL ["/bin/sh", "-eu", "-c"]
ONBUILD COPY . /app/src
ENTRYPOINT ["/usr/local/bin/app"]
CMD ["serve", "--port", "8080"]
