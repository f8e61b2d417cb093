# Concierge developer tasks. Plain cargo works too; see README.md.

pg_url := env_var_or_default("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")

# Run the server on the embedded SQLite database.
run:
    cargo run -p concierge-server

# Run every test (SQLite always; PostgreSQL too when TEST_POSTGRES_URL is set).
test:
    cargo test --workspace

# Run every test on both databases, PostgreSQL required.
test-all:
    TEST_POSTGRES_URL={{pg_url}} CONCIERGE_REQUIRE_POSTGRES=1 cargo test --workspace

# Benchmarks, not in CI: the release server on PostgreSQL and SQLite, pgbench's ceiling;
# writes docs/benchmarks.md (see crates/bench). Extra flags go to concierge-bench.
bench *ARGS:
    ulimit -n "$(ulimit -Hn)" && cargo build --release -p concierge-server -p concierge-bench && TEST_POSTGRES_URL={{pg_url}} target/release/concierge-bench --out docs/benchmarks.md {{ARGS}}

# Start PostgreSQL in Docker (for machines without a local one).
db-up:
    docker compose up -d postgres

fmt:
    cargo fmt --all

lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# What CI runs.
ci:
    bash .ci/run
