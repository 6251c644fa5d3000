//! The rule plugins under `plugins/` (the examples and the hostile corpus), built for
//! wasm32-wasip2 once per test process. `scripts/test` builds them (and adds the target)
//! before the tests run; this builds them too when the tests run on their own. Also included
//! by the api crate's CLI tests (`#[path]`), which cannot depend on this crate.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn plugins_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins")
}

fn build() -> &'static PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = plugins_dir();
        let status = std::process::Command::new(env!("CARGO"))
            .args(["build", "--release", "--quiet", "--target", "wasm32-wasip2", "--manifest-path"])
            .arg(dir.join("Cargo.toml"))
            .status()
            .expect("running cargo to build the plugins");
        assert!(status.success(), "building plugins/ for wasm32-wasip2 failed (scripts/build-plugins adds the target)");
        dir.join("target/wasm32-wasip2/release")
    })
}

/// The path of the component built from `plugins/*/<name>` (e.g. `seat_utilisation`).
pub fn path(name: &str) -> PathBuf {
    build().join(format!("{name}.wasm"))
}

/// The component built from `plugins/*/<name>` (e.g. `seat_utilisation`, `hostile`).
pub fn component(name: &str) -> Vec<u8> {
    let path = path(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The component built from the Python rule `plugins/examples/python/<name>` (by
/// `scripts/build-python-plugins`, which this runs once per process; it skips what is current).
pub fn python_component(name: &str) -> Vec<u8> {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let status = std::process::Command::new(plugins_dir().join("../scripts/build-python-plugins"))
            .status()
            .expect("running scripts/build-python-plugins");
        assert!(status.success(), "building the Python plugins failed");
    });
    let path = plugins_dir().join("target/python").join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// A component, base64-encoded as `uploadRulePlugin` takes it.
pub fn base64(name: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(component(name))
}

/// A plugin example's fixtures directory.
pub fn fixtures(example: &str) -> PathBuf {
    plugins_dir().join("examples").join(example).join("fixtures")
}
