//! `bellwether plugin check|run|test` as a rule author uses them, on the example rules and the
//! hostile corpus.

use std::process::{Command, Output};

#[path = "../../tests/src/guests.rs"]
#[allow(dead_code)]
mod guests;

const BIN: &str = env!("CARGO_BIN_EXE_bellwether");

fn plugin(args: &[&str]) -> Output {
    Command::new(BIN).arg("plugin").args(args).env("RUST_BACKTRACE", "0").output().unwrap()
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn every_example_passes_its_fixtures() {
    for example in ["seat_utilisation", "payment_slowdown", "renewal_without_buyer"] {
        let wasm = guests::path(example);
        let fixtures = guests::fixtures(example);
        let out = plugin(&["test", wasm.to_str().unwrap(), fixtures.to_str().unwrap()]);
        let shown = text(&out);
        assert!(out.status.success(), "{example}: {shown}");
        assert!(shown.contains(" passed, 0 failed"), "{shown}");
    }
}

#[test]
fn a_failing_fixture_fails_the_command_and_says_why() {
    let dir = std::env::temp_dir().join(format!("bellwether-fixtures-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("wrong.json"),
        r#"{ "asOf": "2026-06-01T00:00:00Z", "account": { "renewalDate": "2026-07-01" }, "expect": [{ "key": "something_else" }] }"#,
    )
    .unwrap();
    let wasm = guests::path("renewal_without_buyer");
    let out = plugin(&["test", wasm.to_str().unwrap(), dir.to_str().unwrap()]);
    let shown = text(&out);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(!out.status.success());
    assert!(shown.contains("FAIL  wrong.json"), "{shown}");
    assert!(shown.contains("expected finding 'something_else' was not reported"), "{shown}");
    assert!(shown.contains("unexpected finding 'renewal:20635'"), "{shown}");
}

#[test]
fn check_and_run_report_against_the_limits() {
    let wasm = guests::path("seat_utilisation");
    let out = plugin(&["check", wasm.to_str().unwrap()]);
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    assert!(shown.contains("rule        seat_utilisation (Seat utilisation), category operational"), "{shown}");
    assert!(shown.contains("contract    bellwether:rules@0.1.0"), "{shown}");

    let fixture = guests::fixtures("seat_utilisation").join("low_utilisation.json");
    let out =
        plugin(&["run", wasm.to_str().unwrap(), "--snapshot", fixture.to_str().unwrap(), "--param", "min_share=0.3"]);
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    assert!(shown.contains("0 finding(s)"), "a lower threshold: {shown}");
    assert!(shown.contains("of 50000000"), "instructions against the budget: {shown}");
    assert!(shown.contains("MiB of 64.0 MiB"), "memory against the limit: {shown}");

    let out = plugin(&["check", guests::path("forbidden_import").to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("refused (forbidden_import): the component imports wasi:filesystem/"),
        "{}",
        text(&out)
    );

    let hostile = guests::path("hostile");
    let out =
        plugin(&["run", hostile.to_str().unwrap(), "--snapshot", fixture.to_str().unwrap(), "--param", "mode=loop"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("failed (out_of_fuel)"), "{}", text(&out));
}
