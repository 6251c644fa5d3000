//! A rule that misbehaves on purpose, in the way its `mode` parameter names. The host's tests
//! run it in every mode and expect each misbehaviour to be contained with the right typed error.
//! Mode `ok` behaves: one finding, so the same component also proves the host runs it normally.

use bellwether_rule::*;

pub struct Hostile;

fn finding(key: String, title: String, impact: u8) -> Finding {
    Finding {
        key,
        category: Category::Operational,
        title,
        detail: String::new(),
        impact,
        likelihood: 3,
        evidence: vec![],
        suggested_playbook: None,
    }
}

#[inline(never)]
fn recurse(depth: u64, pad: [u64; 16]) -> u64 {
    let mut local = pad;
    local[(depth % 16) as usize] = depth;
    if depth == u64::MAX { local[0] } else { recurse(depth + 1, local) + local[3] }
}

impl Rule for Hostile {
    fn metadata() -> Metadata {
        Metadata {
            key: "hostile".into(),
            name: "Hostile".into(),
            category: Category::Operational,
            description: "Misbehaves as its mode says.".into(),
            inputs: vec![],
            metrics: vec![],
            lookback_days: 1,
            params: vec![ParamSpec {
                key: "mode".into(),
                description: "ok, loop, memory, recursion, many_findings, huge_strings, panic, invalid_utf8, \
                              out_of_range, nan, log_spam, empty_key, counter, environment"
                    .into(),
                kind: ParamKind::Text,
                default: ParamValue::Text("ok".into()),
            }],
            auto_resolve: true,
        }
    }

    fn evaluate(s: &Snapshot, params: &Params) -> Result<Evaluation, RuleError> {
        let mode = params.text("mode").unwrap_or("ok");
        let one = |f: Finding| Ok(Evaluation { findings: vec![f], observations: vec![] });
        match mode {
            "ok" => one(finding("ok".into(), format!("Hostile rule ran for {}", s.account.name), 3)),
            "loop" => {
                let mut x: u64 = s.as_of as u64;
                loop {
                    x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
                }
            }
            "memory" => {
                // Grow linear memory by 1 MiB at a time until something gives.
                #[cfg(target_arch = "wasm32")]
                loop {
                    if core::arch::wasm32::memory_grow(0, 16) == usize::MAX {
                        return Err(RuleError::Failed("memory.grow refused".into()));
                    }
                }
                #[cfg(not(target_arch = "wasm32"))]
                Err(RuleError::Failed("only meaningful in WebAssembly".into()))
            }
            "recursion" => Ok(Evaluation {
                findings: vec![],
                observations: vec![number("depth", recurse(0, [s.as_of as u64; 16]) as f64)],
            }),
            "many_findings" => Ok(Evaluation {
                findings: (0..1_000).map(|i| finding(format!("f{i}"), "many".into(), 3)).collect(),
                observations: vec![],
            }),
            "huge_strings" => one(finding("huge".into(), "x".repeat(8 << 20), 3)),
            "panic" => panic!("the hostile rule panics on {}", s.account.name),
            "invalid_utf8" => {
                // A string the guest claims is UTF-8 but is not: the host must refuse it.
                #[allow(unsafe_code)]
                let bad = unsafe { String::from_utf8_unchecked(vec![0xff, 0xfe, 0x41]) };
                one(finding("bad".into(), bad, 3))
            }
            "out_of_range" => one(finding("range".into(), "impact nine".into(), 9)),
            "nan" => {
                let mut f = finding("nan".into(), "not a number".into(), 3);
                f.evidence.push(number("x", f64::NAN));
                one(f)
            }
            "empty_key" => one(finding(String::new(), "no key".into(), 3)),
            "log_spam" => {
                for i in 0..100_000 {
                    log(Level::Info, &format!("line {i}: {}", "spam ".repeat(20)));
                }
                one(finding("spam".into(), "logged a lot".into(), 3))
            }
            "counter" => {
                // State carried over from an earlier evaluation would show here as more than 1.
                static CALLS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
                let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                Ok(Evaluation { findings: vec![], observations: vec![number("calls", n as f64)] })
            }
            "environment" => {
                // What the sandbox lets a rule see of the world: a stopped clock, no environment,
                // a seeded random generator.
                use std::hash::BuildHasher;
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs_f64())
                    .unwrap_or(-1.0);
                let hash = std::collections::hash_map::RandomState::new().hash_one("seed");
                Ok(Evaluation {
                    findings: vec![],
                    observations: vec![
                        number("clock_seconds", now),
                        number("env_vars", std::env::vars().count() as f64),
                        number("args", std::env::args().count() as f64),
                        number("hash", (hash % 1_000_000) as f64),
                    ],
                })
            }
            other => Err(RuleError::InvalidInput(format!("unknown mode {other}"))),
        }
    }
}

export_rule!(Hostile);
