//! Invoices paid later and later: the client's payment behaviour drifts (budget pressure, a new
//! procurement process, a deprioritised vendor) well before any invoice is 30 days overdue.

use bellwether_rule::*;

pub struct PaymentSlowdown;

impl Rule for PaymentSlowdown {
    fn metadata() -> Metadata {
        Metadata {
            key: "payment_slowdown".into(),
            name: "Payment slowdown".into(),
            category: Category::Financial,
            description: "The last paid invoices were paid markedly later than the ones before them.".into(),
            inputs: vec![Input::Invoices],
            metrics: vec![],
            lookback_days: 400,
            params: vec![
                number_param("invoices", "Invoices in each group compared", 3.0, 1.0, 12.0),
                number_param(
                    "min_increase_days",
                    "Fires when mean lateness grew by at least this many days",
                    10.0,
                    1.0,
                    120.0,
                ),
                number_param(
                    "min_days_late",
                    "... and the recent invoices were at least this late on average",
                    5.0,
                    0.0,
                    120.0,
                ),
            ],
            auto_resolve: true,
        }
    }

    fn evaluate(s: &Snapshot, params: &Params) -> Result<Evaluation, RuleError> {
        let n = params.number_or("invoices", 3.0) as usize;
        let min_increase = params.number_or("min_increase_days", 10.0);
        let min_late = params.number_or("min_days_late", 5.0);
        // Paid invoices by due date; lateness in days (early payment counts as 0).
        let mut paid: Vec<(Date, f64)> = s
            .invoices
            .iter()
            .filter(|i| i.status == InvoiceStatus::Paid)
            .filter_map(|i| {
                i.paid_at.filter(|&at| at <= s.as_of).map(|at| (i.due_on, (date_of(at) - i.due_on).max(0) as f64))
            })
            .collect();
        if paid.len() < 2 * n {
            return Ok(Evaluation::none());
        }
        paid.sort_by_key(|p| p.0);
        let recent = &paid[paid.len() - n..];
        let earlier = &paid[paid.len() - 2 * n..paid.len() - n];
        let mean = |xs: &[(Date, f64)]| xs.iter().map(|x| x.1).sum::<f64>() / xs.len() as f64;
        let (now, before) = (mean(recent), mean(earlier));
        let observations = vec![number("mean_days_late", now), number("previous_mean_days_late", before)];
        if now - before < min_increase || now < min_late {
            return Ok(Evaluation { findings: vec![], observations });
        }
        Ok(Evaluation {
            findings: vec![Finding {
                key: "slowdown".into(),
                category: Category::Financial,
                title: format!("Invoices paid {now:.0} days late on average (was {before:.0})"),
                detail: format!(
                    "The last {n} invoices of {} were paid {now:.1} days after their due date on average, \
                     against {before:.1} days for the {n} before them.",
                    s.account.name
                ),
                impact: 3,
                likelihood: if now - before >= 2.0 * min_increase { 4 } else { 3 },
                evidence: observations.clone(),
                suggested_playbook: Some("financial_review".into()),
            }],
            observations,
        })
    }
}

export_rule!(PaymentSlowdown);

#[cfg(test)]
mod tests {
    use super::*;

    fn with_lateness(days_late: &[i64]) -> Snapshot {
        let mut s = testing::snapshot(400);
        s.invoices = days_late
            .iter()
            .enumerate()
            .map(|(i, &late)| {
                let due = 30 * (i as i32 + 1);
                Invoice {
                    number: format!("INV-{i}"),
                    amount: Money { amount_minor: 100_000, currency: "EUR".into() },
                    issued_on: due - 30,
                    due_on: due,
                    paid_at: Some((due as i64 + late) * DAY),
                    status: InvoiceStatus::Paid,
                }
            })
            .collect();
        s
    }

    #[test]
    fn fires_when_lateness_grows() {
        let p = Params::default();
        let e = PaymentSlowdown::evaluate(&with_lateness(&[0, 2, 1, 12, 15, 20]), &p).unwrap();
        assert_eq!(e.findings.len(), 1, "{e:?}");
        assert_eq!(e.findings[0].likelihood, 3);
        assert!(PaymentSlowdown::evaluate(&with_lateness(&[10, 12, 11, 12, 15, 20]), &p).unwrap().findings.is_empty());
        assert!(
            PaymentSlowdown::evaluate(&with_lateness(&[0, 1, 12, 15, 20]), &p).unwrap().findings.is_empty(),
            "too few"
        );
    }

    #[test]
    fn unpaid_and_future_payments_are_ignored() {
        let mut s = with_lateness(&[0, 2, 1, 12, 15, 20]);
        s.as_of = 150 * DAY;
        assert!(PaymentSlowdown::evaluate(&s, &Params::default()).unwrap().findings.is_empty());
    }
}
