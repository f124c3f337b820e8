# Common tasks. Each recipe mirrors a step of .ci/run.

# Run the full test suite (the README's test command).
test:
    cargo test --workspace --all-features

# Formatting and clippy, as CI runs them.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets --all-features -- -D warnings

# Build the API docs, failing on warnings.
doc:
    RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --all-features

# Side-by-side benchmark against raw tokio and tower (quick mode).
bench:
    cargo bench --bench compare -- --quick

# Side by side with the Python originals (more-executors, aiojobs from PyPI into a local
# virtual environment under target/bench/): 10-25 minutes; not run by CI.
bench-python:
    python3 benches/python/run.py

# Run the flagship example.
run:
    cargo run --example remote_tasks

# Everything CI does.
ci:
    bash .ci/run
