//! The built-in rules, one per reference warning sign of the domain brief. Defaults reproduce
//! the reference thresholds (usage -15% over 30 days, critical tickets +20% over 7 days, an
//! invoice 30+ days overdue, no executive contact in 90 days); organisations tune them.
//!
//! Every rule stays silent without enough data: no history is not a warning sign.

mod account;
mod payment;
mod relationship;
mod support;
mod usage;

#[cfg(test)]
pub(crate) mod testkit;

use std::sync::Arc;

use crate::Rule;

/// Suggested playbook keys: the keys of the default playbooks every organisation has.
pub mod playbooks {
    pub use bellwether_domain::playbooks::{CHECK_IN, EXECUTIVE_REVIEW, FINANCIAL_REVIEW, SUPPORT_ESCALATION};
}

/// Every built-in rule.
pub fn all() -> Vec<Arc<dyn Rule>> {
    vec![
        Arc::new(usage::UsageDrop::new()),
        Arc::new(support::CriticalTicketSurge::new()),
        Arc::new(support::CriticalTicketsUnresolved::new()),
        Arc::new(payment::InvoiceOverdue::new()),
        Arc::new(relationship::NoExecutiveContact::new()),
        Arc::new(relationship::GoingQuiet::new()),
        Arc::new(relationship::SponsorLeft::new()),
        Arc::new(relationship::NpsDetractors::new()),
        Arc::new(relationship::PoorAssessment::new()),
        Arc::new(account::RenewalAtRisk::new()),
        Arc::new(account::ManagerOverCapacity::new()),
    ]
}

/// Percent with one decimal for titles.
pub(crate) fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// Comparisons at a threshold: "exactly at the threshold" counts as crossing it, whatever the
/// rounding of the arithmetic that produced the value.
pub(crate) const EPSILON: f64 = 1e-9;

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::{Params, RuleMeta};

    #[test]
    fn keys_are_unique_and_defaults_are_valid() {
        let rules = all();
        let keys: HashSet<&str> = rules.iter().map(|r| r.meta().key.as_str()).collect();
        assert_eq!(keys.len(), rules.len());
        for r in &rules {
            let meta: &RuleMeta = r.meta();
            for p in &meta.params {
                assert_eq!(p.check(&p.default), Ok(()), "{}.{}", meta.key, p.key);
            }
            assert!(Params::resolve(meta, &Default::default()).is_ok());
            assert!(!meta.inputs.is_empty() && meta.lookback_days > 0, "{}", meta.key);
        }
    }

    #[test]
    fn no_rule_fires_on_an_account_without_any_data() {
        let snapshot = testkit::account();
        for r in all() {
            let e = r.evaluate(&snapshot, &Params::defaults(r.meta())).unwrap();
            assert!(e.findings.is_empty(), "{} fired without data", r.meta().key);
        }
    }
}
