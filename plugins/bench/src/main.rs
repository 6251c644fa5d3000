//! `cargo run --release --manifest-path plugins/Cargo.toml -p native-bench`: the
//! renewal_without_buyer rule evaluated natively on the snapshot of its `champion_only`
//! fixture; compare with `cargo run --release -p bellwether-bench -- plugin`, which runs the
//! same rule as a WebAssembly plugin.

use std::hint::black_box;
use std::time::Instant;

use bellwether_rule::testing::{contact, snapshot};
use bellwether_rule::{ContactLevel, ContactRole, Params, Rule, Sentiment};
use renewal_without_buyer::RenewalWithoutBuyer;

fn main() {
    // 2026-06-01, renewal 2026-07-01, one positive champion and one departed decision maker.
    let mut s = snapshot(20605);
    s.account.renewal_date = Some(20635);
    s.contacts = vec![
        contact("Chris Champion", ContactLevel::Management, ContactRole::Champion, Sentiment::Positive),
        contact("Dana Former-CFO", ContactLevel::Executive, ContactRole::DecisionMaker, Sentiment::Neutral),
    ];
    s.contacts[1].active = false;
    let params = Params::default();
    let n = 200_000;
    let mut findings = 0;
    for _ in 0..1000 {
        findings += RenewalWithoutBuyer::evaluate(black_box(&s), &params).unwrap().findings.len();
    }
    let started = Instant::now();
    for _ in 0..n {
        findings += RenewalWithoutBuyer::evaluate(black_box(&s), &params).unwrap().findings.len();
    }
    let per = started.elapsed().as_secs_f64() / n as f64;
    assert_eq!(findings, n + 1000, "the rule fires on this snapshot");
    println!("renewal_without_buyer native: {:.3} us per evaluation ({n} evaluations)", per * 1e6);
}
