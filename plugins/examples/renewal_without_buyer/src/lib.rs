//! The renewal approaches and nobody engaged on the client's side can sign it: every decision
//! maker and executive sponsor has left, gone inactive or turned negative. The champion may be
//! happy, but champions rarely hold the budget.

use bellwether_rule::*;

pub struct RenewalWithoutBuyer;

impl Rule for RenewalWithoutBuyer {
    fn metadata() -> Metadata {
        Metadata {
            key: "renewal_without_buyer".into(),
            name: "Renewal without a buyer".into(),
            category: Category::Relationship,
            description: "Renewal within the window while no active, non-negative decision maker or executive \
                          sponsor is engaged."
                .into(),
            inputs: vec![Input::Contacts],
            metrics: vec![],
            lookback_days: 1,
            params: vec![days_param("days", "Days before the renewal date the rule starts watching", 120, 365)],
            auto_resolve: true,
        }
    }

    fn evaluate(s: &Snapshot, params: &Params) -> Result<Evaluation, RuleError> {
        let window = params.number_or("days", 120.0) as i64;
        let Some(renewal) = s.account.renewal_date else { return Ok(Evaluation::none()) };
        let days = days_until(s.as_of, renewal);
        if !(0..=window).contains(&days) {
            return Ok(Evaluation::none());
        }
        let buyers = s
            .contacts
            .iter()
            .filter(|c| c.active && matches!(c.role, ContactRole::DecisionMaker | ContactRole::ExecutiveSponsor))
            .filter(|c| c.sentiment != Sentiment::Negative)
            .count();
        let observations = vec![number("engaged_buyers", buyers as f64), number("days_to_renewal", days as f64)];
        if buyers > 0 {
            return Ok(Evaluation { findings: vec![], observations });
        }
        let engaged: Vec<&str> = s.contacts.iter().filter(|c| c.active).map(|c| c.name.as_str()).collect();
        let mut evidence = observations.clone();
        evidence
            .push(text("engaged_contacts", if engaged.is_empty() { "nobody".to_owned() } else { engaged.join(", ") }));
        Ok(Evaluation {
            findings: vec![Finding {
                key: format!("renewal:{renewal}"),
                category: Category::Relationship,
                title: format!("Renewal in {days} days with nobody engaged who can sign"),
                detail: format!(
                    "{} renews in {days} days. No active decision maker or executive sponsor with a neutral or \
                     positive view is on record; find and meet the buyer now.",
                    s.account.name
                ),
                impact: 4,
                likelihood: if days <= 45 { 4 } else { 3 },
                evidence,
                suggested_playbook: Some("executive_business_review".into()),
            }],
            observations,
        })
    }
}

export_rule!(RenewalWithoutBuyer);

#[cfg(test)]
mod tests {
    use super::*;
    use bellwether_rule::testing::{contact, snapshot};

    fn renewing_in(days: i32, contacts: Vec<Contact>) -> Snapshot {
        let mut s = snapshot(1000);
        s.account.renewal_date = Some(1000 + days);
        s.contacts = contacts;
        s
    }

    #[test]
    fn fires_only_without_an_engaged_buyer_inside_the_window() {
        let p = Params::default();
        let champion = contact("Chris", ContactLevel::Management, ContactRole::Champion, Sentiment::Positive);
        let cfo = contact("Dana", ContactLevel::Executive, ContactRole::DecisionMaker, Sentiment::Neutral);
        let e = RenewalWithoutBuyer::evaluate(&renewing_in(30, vec![champion.clone()]), &p).unwrap();
        assert_eq!(e.findings.len(), 1);
        assert_eq!(e.findings[0].likelihood, 4);
        assert!(
            RenewalWithoutBuyer::evaluate(&renewing_in(30, vec![champion.clone(), cfo.clone()]), &p)
                .unwrap()
                .findings
                .is_empty()
        );
        let mut negative = cfo.clone();
        negative.sentiment = Sentiment::Negative;
        assert_eq!(
            RenewalWithoutBuyer::evaluate(&renewing_in(100, vec![negative]), &p).unwrap().findings[0].likelihood,
            3
        );
        assert!(
            RenewalWithoutBuyer::evaluate(&renewing_in(121, vec![]), &p).unwrap().findings.is_empty(),
            "outside the window"
        );
        assert!(
            RenewalWithoutBuyer::evaluate(&renewing_in(-1, vec![]), &p).unwrap().findings.is_empty(),
            "renewal passed"
        );
    }
}
