//! Seats in use under a share of the seats the client pays for: the client is not getting the
//! value it bought, and a down-sized (or lost) renewal usually follows. Unlike a usage drop, this
//! fires on a steady but low level of adoption.

use bellwether_rule::series::{self, mean_over};
use bellwether_rule::*;

pub struct SeatUtilisation;

impl Rule for SeatUtilisation {
    fn metadata() -> Metadata {
        Metadata {
            key: "seat_utilisation".into(),
            name: "Seat utilisation".into(),
            category: Category::Operational,
            description: "Seats in use over the last days, as a share of the licensed seats, under a threshold.".into(),
            inputs: vec![Input::Metrics],
            metrics: vec![],
            lookback_days: 90,
            params: vec![
                metric_param("used_metric", "Metric counting seats in use", "seats_used"),
                metric_param("licensed_metric", "Metric counting licensed seats", "seats_licensed"),
                number_param("min_share", "Fires under this share of licensed seats in use (0-1)", 0.6, 0.05, 1.0),
                days_param("days", "Days averaged", 30, 90),
            ],
            auto_resolve: true,
        }
    }

    fn evaluate(s: &Snapshot, params: &Params) -> Result<Evaluation, RuleError> {
        let min_share = params.number_or("min_share", 0.6);
        let days = params.number_or("days", 30.0) as i64;
        let used_key = params.text("used_metric").unwrap_or("seats_used");
        let licensed_key = params.text("licensed_metric").unwrap_or("seats_licensed");
        let (Some(used), Some(licensed)) = (series::find(s, used_key), series::find(s, licensed_key)) else {
            return Ok(Evaluation::none());
        };
        let (Some(used), Some(licensed)) = (mean_over(used, s.as_of, days), series::latest(licensed, s.as_of)) else {
            return Ok(Evaluation::none());
        };
        if licensed <= 0.0 {
            return Ok(Evaluation::none());
        }
        let share = used / licensed;
        let observations =
            vec![number("seat_share", share), number("seats_used", used), number("seats_licensed", licensed)];
        if share >= min_share {
            return Ok(Evaluation { findings: vec![], observations });
        }
        let impact = match s.account.tier {
            Tier::Strategic => 5,
            Tier::Key => 4,
            Tier::Growth => 3,
            Tier::Standard => 2,
        };
        Ok(Evaluation {
            findings: vec![Finding {
                key: "seats".into(),
                category: Category::Operational,
                title: format!("{:.0}% of licensed seats in use", share * 100.0),
                detail: format!(
                    "{} used {used:.1} of {licensed:.0} licensed seats on average over the last {days} days \
                     (threshold {:.0}%). Unused seats are the first thing cut at renewal.",
                    s.account.name,
                    min_share * 100.0
                ),
                impact,
                likelihood: if share < min_share / 2.0 { 4 } else { 3 },
                evidence: observations.clone(),
                suggested_playbook: Some("proactive_check_in".into()),
            }],
            observations,
        })
    }
}

export_rule!(SeatUtilisation);

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(used: f64, licensed: f64) -> Snapshot {
        let points = |v: f64| (70..100).map(|d| Point { at: d * DAY, value: v }).collect();
        let mut s = testing::snapshot(100);
        s.metrics = vec![
            Series { key: "seats_used".into(), points: points(used) },
            Series { key: "seats_licensed".into(), points: points(licensed) },
        ];
        s
    }

    #[test]
    fn fires_under_the_share_and_not_at_it() {
        let p = Params::default();
        let low = SeatUtilisation::evaluate(&snapshot(40.0, 100.0), &p).unwrap();
        assert_eq!(low.findings.len(), 1);
        assert_eq!(low.findings[0].likelihood, 3);
        assert_eq!(low.findings[0].impact, 4);
        assert!(SeatUtilisation::evaluate(&snapshot(60.0, 100.0), &p).unwrap().findings.is_empty());
        let very_low = SeatUtilisation::evaluate(&snapshot(20.0, 100.0), &p).unwrap();
        assert_eq!(very_low.findings[0].likelihood, 4);
        let stricter = Params::of(&[("min_share", 0.3.into())]);
        assert!(SeatUtilisation::evaluate(&snapshot(40.0, 100.0), &stricter).unwrap().findings.is_empty());
    }

    #[test]
    fn no_series_no_finding() {
        let mut s = snapshot(10.0, 100.0);
        s.metrics.clear();
        assert_eq!(SeatUtilisation::evaluate(&s, &Params::default()).unwrap().findings.len(), 0);
    }
}
