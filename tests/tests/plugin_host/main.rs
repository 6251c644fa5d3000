//! The plugin host against real components: the examples, and the hostile corpus
//! (plugins/corpus), each misbehaviour contained with the right typed error.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bellwether_rules::engine::run_metered;
use bellwether_rules::plugin::fixture::Fixture;
use bellwether_rules::plugin::{Limits, PluginError, PluginHost, PluginRule};
use bellwether_rules::{AccountSnapshot, Evaluation, ParamValue, Params, Rule, RuleError, Usage};
use bellwether_tests::guests::component;

fn host() -> Arc<PluginHost> {
    PluginHost::new(Limits::default()).expect("plugin host")
}

fn snapshot() -> AccountSnapshot {
    Fixture::parse(r#"{ "asOf": "2026-06-01T00:00:00Z", "account": { "name": "Initech" } }"#).unwrap().snapshot()
}

fn hostile(host: &Arc<PluginHost>) -> Arc<PluginRule> {
    host.compile(&component("hostile")).expect("the hostile corpus compiles")
}

/// Runs the hostile rule in a mode, as the engine does (output checked after the call).
fn run(rule: &PluginRule, mode: &str) -> (Result<Evaluation, RuleError>, Usage) {
    let params =
        Params::resolve(rule.meta(), &BTreeMap::from([("mode".to_owned(), ParamValue::Text(mode.into()))])).unwrap();
    let (result, usage) = run_metered(rule, &snapshot(), &params);
    (result, usage.expect("plugins report usage"))
}

#[test]
fn examples_compile_and_declare_their_metadata() {
    let host = host();
    for (name, key, inputs) in [
        ("seat_utilisation", "seat_utilisation", "Metrics"),
        ("payment_slowdown", "payment_slowdown", "Invoices"),
        ("renewal_without_buyer", "renewal_without_buyer", "Contacts"),
    ] {
        let rule = host.compile(&component(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(rule.meta().key, key);
        assert_eq!(format!("{:?}", rule.meta().inputs), format!("[{inputs}]"));
        assert_eq!(rule.wit_version, "0.1.0");
        assert_eq!(rule.sha256.len(), 64);
        assert!(!rule.meta().params.is_empty());
    }
}

#[test]
fn a_well_behaved_evaluation_reports_its_cost() {
    let host = host();
    let rule = hostile(&host);
    let (result, usage) = run(&rule, "ok");
    let e = result.expect("mode ok works");
    assert_eq!(e.findings.len(), 1);
    assert_eq!(e.findings[0].title, "Hostile rule ran for Initech");
    assert!(usage.fuel > 0 && usage.fuel < 1_000_000, "{usage:?}");
    assert!(usage.peak_memory >= 64 << 10, "{usage:?}");
}

#[test]
fn an_infinite_loop_runs_out_of_fuel() {
    let host = host();
    let (result, usage) = run(&hostile(&host), "loop");
    assert_eq!(result.unwrap_err(), RuleError::OutOfFuel(Limits::default().fuel));
    assert_eq!(usage.fuel, Limits::default().fuel);
}

#[test]
fn an_infinite_loop_with_fuel_to_spare_hits_the_deadline() {
    let host = PluginHost::new(Limits { fuel: u64::MAX / 2, timeout: Duration::from_millis(50), ..Limits::default() })
        .unwrap();
    let (result, _) = run(&hostile(&host), "loop");
    assert_eq!(result.unwrap_err(), RuleError::Timeout(50));
}

#[test]
fn a_memory_bomb_hits_the_memory_limit() {
    let host = host();
    let (result, usage) = run(&hostile(&host), "memory");
    assert_eq!(result.unwrap_err(), RuleError::OutOfMemory(Limits::default().memory_bytes as u64));
    assert!(usage.peak_memory <= Limits::default().memory_bytes as u64);
}

#[test]
fn deep_recursion_overflows_the_stack_as_a_trap() {
    let host = host();
    let (result, _) = run(&hostile(&host), "recursion");
    match result.unwrap_err() {
        RuleError::Trap(m) => assert!(m.contains("call stack exhausted") && m.contains("hostile::recurse (x"), "{m}"),
        other => panic!("expected a trap, got {other:?}"),
    }
}

#[test]
fn a_panic_is_a_trap_with_the_panic_message_and_a_backtrace() {
    let host = host();
    let (result, _) = run(&hostile(&host), "panic");
    match result.unwrap_err() {
        RuleError::Trap(m) => {
            assert!(m.contains("the hostile rule panics on Initech"), "{m}");
            assert!(m.contains("backtrace"), "{m}");
        }
        other => panic!("expected a trap, got {other:?}"),
    }
}

#[test]
fn bad_output_is_refused() {
    let host = host();
    let rule = hostile(&host);
    for (mode, expected) in [
        ("many_findings", "findings (at most 100)"),
        ("huge_strings", "title 1-300"),
        ("out_of_range", "impact and likelihood must be 1-5"),
        ("nan", "must be finite"),
        ("empty_key", "finding key must be 1-150 characters"),
        ("invalid_utf8", "utf"),
    ] {
        let (result, _) = run(&rule, mode);
        match result {
            Err(RuleError::InvalidOutput(m)) => {
                assert!(m.to_lowercase().contains(expected), "{mode}: {m}")
            }
            other => panic!("{mode}: expected invalid output, got {other:?}"),
        }
    }
}

#[test]
fn log_spam_is_capped() {
    let host = host();
    let (_, usage) = run(&hostile(&host), "log_spam");
    let bytes: usize = usage.logs.iter().map(String::len).sum();
    assert!(bytes <= Limits::default().log_bytes + 200, "{bytes} bytes kept");
    assert!(usage.logs.last().unwrap().contains("more log lines dropped"), "{:?}", usage.logs.last());
    assert!(usage.logs[0].starts_with("info: line 0"), "{}", usage.logs[0]);
}

#[test]
fn every_evaluation_starts_from_a_fresh_instance() {
    let host = host();
    let rule = hostile(&host);
    for _ in 0..3 {
        let (result, _) = run(&rule, "counter");
        assert_eq!(result.unwrap().observations[0].number, Some(1.0));
    }
}

#[test]
fn the_sandbox_is_deterministic_and_bare() {
    let host = host();
    let rule = hostile(&host);
    let (first, _) = run(&rule, "environment");
    let first = first.unwrap().observations;
    let value = |name: &str| first.iter().find(|e| e.name == name).and_then(|e| e.number);
    assert_eq!(value("clock_seconds"), Some(0.0), "the clock is stopped");
    assert_eq!(value("env_vars"), Some(0.0));
    assert_eq!(value("args"), Some(0.0));
    let (second, _) = run(&rule, "environment");
    assert_eq!(second.unwrap().observations, first, "the same inputs give the same output, hashes included");
}

#[test]
fn refused_components_get_precise_errors() {
    let host = host();
    let err = |bytes: &[u8]| host.compile(bytes).unwrap_err();
    assert_eq!(err(b"definitely not wasm"), PluginError::NotWasm);
    assert_eq!(err(b"\0asm\x01\0\0\0"), PluginError::CoreModule);
    assert!(matches!(err(b"\0asm\x0d\0\x01\0\xff\xff"), PluginError::Invalid(_)));
    match err(&component("forbidden_import")) {
        PluginError::ForbiddenImport(name) => assert!(name.starts_with("wasi:filesystem/"), "{name}"),
        other => panic!("expected a forbidden import, got {other:?}"),
    }
    match err(&component("wrong_version")) {
        PluginError::UnsupportedVersion { found, supported } => {
            assert_eq!(found, "9.9.0");
            assert_eq!(supported, "0.1.0");
        }
        other => panic!("expected an unsupported version, got {other:?}"),
    }
    let small = PluginHost::new(Limits { max_component_bytes: 1000, ..Limits::default() }).unwrap();
    assert!(matches!(small.compile(&component("hostile")).unwrap_err(), PluginError::TooLarge { max: 1000, .. }));
}

#[test]
fn fixtures_reach_the_rule_as_the_server_would_send_them() {
    let host = host();
    let rule = host.compile(&component("renewal_without_buyer")).unwrap();
    let f = Fixture::parse(
        r#"{
            "asOf": "2026-06-01T00:00:00Z",
            "account": { "name": "Initech", "renewalDate": "2026-07-01" },
            "contacts": [{ "name": "Chris", "role": "champion", "sentiment": "positive" }]
        }"#,
    )
    .unwrap();
    let e = rule.evaluate(&f.snapshot(), &Params::defaults(rule.meta())).unwrap();
    assert_eq!(e.findings.len(), 1);
    assert_eq!(e.findings[0].key, "renewal:20635");
    assert_eq!(e.findings[0].likelihood, 4);
    assert_eq!(e.findings[0].title, "Renewal in 30 days with nobody engaged who can sign");
}

#[test]
fn a_python_rule_runs_where_inert_system_imports_are_allowed() {
    let bytes = bellwether_tests::guests::python_component("survey_silence");
    // CPython's runtime imports wasi:filesystem and wasi:sockets: refused by default, before
    // anything is compiled.
    let strict = PluginHost::new(Limits { max_component_bytes: 32 << 20, ..Limits::default() }).unwrap();
    match strict.compile(&bytes).unwrap_err() {
        PluginError::ForbiddenImport(name) => {
            assert!(name.starts_with("wasi:filesystem/") || name.starts_with("wasi:sockets/"), "{name}")
        }
        other => panic!("expected a forbidden import, got {other:?}"),
    }
    // Provided inert, the same component runs, with the same contract as the Rust rules.
    let host =
        PluginHost::new(Limits { max_component_bytes: 32 << 20, inert_system_imports: true, ..Limits::default() })
            .unwrap();
    let rule = host.compile(&bytes).expect("the Python rule compiles");
    assert_eq!(rule.meta().key, "survey_silence");
    let fixtures = bellwether_tests::guests::fixtures("python/survey_silence");
    let fixture = |name: &str| Fixture::parse(&std::fs::read_to_string(fixtures.join(name)).unwrap()).unwrap();
    let silent = fixture("silent.json");
    let params = Params::resolve(rule.meta(), &silent.params).unwrap();
    let (result, usage) = rule.evaluate_metered(&silent.snapshot(), &params);
    let e = result.unwrap();
    assert_eq!(e.findings.len(), 1);
    assert_eq!((e.findings[0].key.as_str(), e.findings[0].likelihood), ("silence", 3));
    assert!(usage.unwrap().fuel > 0);
    let answering = fixture("answering.json");
    assert!(rule.evaluate(&answering.snapshot(), &params).unwrap().findings.is_empty());
}

#[test]
fn many_concurrent_evaluations_wait_for_a_slot_instead_of_failing() {
    let host = host();
    let rule = hostile(&host);
    // More long evaluations at once than the instance pool has slots: each ends with the
    // plugin's own failure (out of fuel; or its deadline, on a machine busy with other work),
    // never with a refused instance.
    let results: Vec<Result<Evaluation, RuleError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..100).map(|_| s.spawn(|| run(&rule, "loop").0)).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for r in results {
        match r.unwrap_err() {
            RuleError::OutOfFuel(_) | RuleError::Timeout(_) => {}
            other => panic!("expected the plugin's own failure, got {other:?}"),
        }
    }
}

#[test]
fn a_rule_outliving_its_host_fails_cleanly() {
    let host = host();
    let rule = hostile(&host);
    drop(host);
    let (result, _) = run(&rule, "ok");
    assert_eq!(result.unwrap_err(), RuleError::Failed("the plugin host has shut down".into()));
}
