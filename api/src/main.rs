//! The `bellwether` binary: a shim over [`bellwether_api::cli`].

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    bellwether_api::cli::run(bellwether_api::cli::Cli::parse()).await
}
