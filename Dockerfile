# One image for every qesflow service: the subcommand picks the role (server, worker, bridge, api, sim).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/qesflow ./cmd/qesflow

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/qesflow /qesflow
USER nonroot:nonroot
ENTRYPOINT ["/qesflow"]
