//! The committed `schema.graphql` is exactly what the server serves.

#[test]
fn committed_schema_matches_the_server() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema.graphql");
    let committed = std::fs::read_to_string(&path).expect("schema.graphql at the workspace root");
    let served = bellwether_api::graphql::sdl();
    assert!(
        committed == served,
        "schema.graphql is stale: regenerate it with `cargo run -q -p bellwether-api -- schema > schema.graphql`"
    );
}
