# Build the `concierge` binary, then run it on a slim image.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release -p concierge-server

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates libssl3 \
    && rm -rf /var/lib/apt/lists/* && useradd --system --home /var/lib/concierge concierge \
    && mkdir -p /var/lib/concierge && chown concierge /var/lib/concierge
COPY --from=build /src/target/release/concierge /usr/local/bin/concierge
USER concierge
WORKDIR /var/lib/concierge
ENV PORT=3000 DATABASE_URL=sqlite://data/concierge.db
EXPOSE 3000
ENTRYPOINT ["concierge"]
CMD ["serve"]
