//! Payment: an invoice 30+ days overdue.

use bellwether_domain::{InvoiceStatus, RiskCategory};

use super::playbooks;
use crate::{
    AccountSnapshot, Evaluation, Evidence, Finding, Input, ParamSpec, Params, Rule, RuleError, RuleMeta, tier_impact,
};

pub struct InvoiceOverdue(RuleMeta);

impl InvoiceOverdue {
    pub fn new() -> Self {
        Self(RuleMeta {
            key: "invoice_overdue".into(),
            name: "Invoice overdue".into(),
            category: RiskCategory::Financial,
            description: "An invoice is unpaid `days` or more days after its due date. One risk per invoice: it is \
                          raised when the invoice crosses the threshold and clears when it is paid or voided."
                .into(),
            inputs: vec![Input::Invoices],
            lookback_days: 400,
            params: vec![ParamSpec::days("days", "Days overdue that fire.", 30, 365)],
            auto_resolve: true,
        })
    }
}

impl Rule for InvoiceOverdue {
    fn meta(&self) -> &RuleMeta {
        &self.0
    }

    fn evaluate(&self, s: &AccountSnapshot, p: &Params) -> Result<Evaluation, RuleError> {
        let today = s.as_of.date_naive();
        let threshold = p.days("days");
        let mut e = Evaluation::default();
        let mut max_overdue = 0;
        for inv in s.signals.invoices.iter().filter(|i| i.issued_on <= today && i.status != InvoiceStatus::Void) {
            let days = inv.days_overdue(today);
            max_overdue = max_overdue.max(days);
            if days < threshold {
                continue;
            }
            e.findings.push(Finding {
                key: inv.number.clone(),
                category: RiskCategory::Financial,
                title: format!("Invoice {} is {days} days overdue", inv.number),
                detail: format!(
                    "Invoice {} ({} {:.2}) was due on {} and is unpaid {days} days later (threshold {threshold}).",
                    inv.number,
                    inv.amount.currency,
                    inv.amount.amount_minor as f64 / 100.0,
                    inv.due_on
                ),
                impact: tier_impact(s.account.tier),
                likelihood: match days {
                    d if d >= 90 => 5,
                    d if d >= 60 => 4,
                    _ => 3,
                },
                evidence: vec![
                    Evidence::text("invoice", inv.number.clone()),
                    Evidence::number("daysOverdue", days as f64),
                    Evidence::number("amountMinor", inv.amount.amount_minor as f64),
                    Evidence::text("currency", inv.amount.currency.clone()),
                    Evidence::text("dueOn", inv.due_on.to_string()),
                ],
                suggested_playbook: Some(playbooks::FINANCIAL_REVIEW.into()),
            });
        }
        e.observations = vec![Evidence::number("maxDaysOverdue", max_overdue as f64)];
        Ok(e)
    }
}

#[cfg(test)]
mod tests {
    use bellwether_domain::signals::invoices::Invoice;
    use bellwether_domain::{AccountId, InvoiceId, Money, OrganisationId};

    use super::super::testkit::*;
    use super::*;

    fn invoice(number: &str, due_days_ago: i64, status: InvoiceStatus, paid_days_ago: Option<i64>) -> Invoice {
        Invoice {
            id: InvoiceId::generate(),
            organisation: OrganisationId::generate(),
            account: AccountId::generate(),
            number: number.into(),
            amount: Money { amount_minor: 1_250_000, currency: "EUR".into() },
            issued_on: day(-due_days_ago - 30),
            due_on: day(-due_days_ago),
            paid_at: paid_days_ago.map(at),
            status,
            version: 1,
            created_at: at(-due_days_ago - 30),
            updated_at: at(-due_days_ago - 30),
        }
    }

    #[test]
    fn one_finding_per_invoice_thirty_or_more_days_overdue() {
        let rule = InvoiceOverdue::new();
        let p = Params::defaults(rule.meta());
        // (invoices, expected (key, likelihood) pairs)
        type Case = (Vec<Invoice>, Vec<(&'static str, i32)>);
        let cases: Vec<Case> = vec![
            (vec![invoice("A", 30, InvoiceStatus::Open, None)], vec![("A", 3)]), // exactly 30 days
            (vec![invoice("A", 29, InvoiceStatus::Open, None)], vec![]),
            (
                vec![invoice("A", 95, InvoiceStatus::Open, None), invoice("B", 61, InvoiceStatus::Open, None)],
                vec![("A", 5), ("B", 4)],
            ),
            (vec![invoice("A", 45, InvoiceStatus::Paid, Some(-1))], vec![]), // paid yesterday
            (vec![invoice("A", 45, InvoiceStatus::Void, None)], vec![]),
            (vec![], vec![]),
        ];
        for (i, (invoices, expected)) in cases.into_iter().enumerate() {
            let mut s = account();
            s.signals.invoices = invoices;
            let e = rule.evaluate(&s, &p).unwrap();
            let got: Vec<(&str, i32)> = e.findings.iter().map(|f| (f.key.as_str(), f.likelihood)).collect();
            assert_eq!(got, expected, "case {i}");
        }
    }
}
