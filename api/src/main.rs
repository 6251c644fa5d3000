//! The `bellwether` binary: a shim over [`bellwether_api::cli`].

use clap::Parser;

/// mimalloc: bulk mutations are allocation-bound (GraphQL value trees, JSON); in the ingestion
/// bench it adds roughly 5-10% throughput on PostgreSQL over the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    bellwether_api::cli::run(bellwether_api::cli::Cli::parse()).await
}
