# One image for every qesflow service: the subcommand picks the role (server, worker, bridge, api, sim).
# Pinned to the go directive of go.mod (a test keeps them equal).
FROM golang:1.26.8 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/qesflow ./cmd/qesflow \
 && mkdir -p /out/data/documents /out/data/sim

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/qesflow /qesflow
# Volumes mounted under /data inherit this ownership, so the nonroot user can write to them.
COPY --from=build --chown=65532:65532 /out/data /data
USER nonroot:nonroot
ENTRYPOINT ["/qesflow"]
