# One image holds every efaktura binary (ingest, validate, decide, respond,
# erpsim, efaktura); compose and the Helm chart pick one with `command`.
# Static (CGO off), on distroless, as the nonroot user (65532).
FROM golang:1.26 AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/root/.cache/go-build --mount=type=cache,target=/go/pkg/mod \
    CGO_ENABLED=0 make build

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /src/bin/ /usr/local/bin/
USER 65532:65532
# Not the worker: compose and the chart name it.
ENTRYPOINT []
CMD ["/usr/local/bin/efaktura", "version"]
