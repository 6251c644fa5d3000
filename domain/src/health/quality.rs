//! Warning quality: how well a score or a rule ranked and flagged accounts at past observation
//! dates against what happened next. Pure: observations in, figures out.
//!
//! The figures are the churn analyst's: ROC AUC (ranking, ties counted half), precision and
//! recall at the operating threshold, lift in the top decile (what a team can actually work),
//! the median lead time from the first warning to the outcome, and the share of accounts with
//! an outcome that were never warned before it.

use chrono::NaiveDate;

/// One account at one observation date.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Observation {
    /// Index of the account (any stable numbering).
    pub account: u32,
    pub day: NaiveDate,
    /// Higher is riskier; `None` when the target had nothing to say (no score).
    pub risk: Option<f64>,
    /// Whether the target warned (score under its threshold, rule fired).
    pub warned: bool,
    /// Whether the outcome followed within the horizon.
    pub label: bool,
    /// The outcome's date, for lead times (`None` for outcomes without a date).
    pub outcome_on: Option<NaiveDate>,
}

/// A target's record over a set of observations.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Figures {
    pub observations: usize,
    /// Observations followed by the outcome.
    pub positives: usize,
    /// Share of observations with a risk (scored).
    pub coverage: f64,
    /// ROC AUC over scored observations; `None` without both classes.
    pub auc: Option<f64>,
    /// Share of warnings followed by the outcome; `None` without warnings.
    pub precision: Option<f64>,
    /// Share of observations followed by the outcome that were warned.
    pub recall: Option<f64>,
    pub warnings: usize,
    /// Outcome rate in the riskiest tenth of scored observations over the overall rate.
    pub lift_top_decile: Option<f64>,
    /// Accounts with an outcome.
    pub accounts_with_outcome: usize,
    /// Of those, the share never warned within the horizon before the outcome.
    pub never_warned_share: Option<f64>,
    /// Median days from the first warning within the horizon to the outcome.
    pub median_lead_days: Option<f64>,
}

/// ROC AUC of `(risk, label)` pairs, by the rank-sum formula with ties counted half. `None`
/// without both classes.
pub fn auc(pairs: &mut [(f64, bool)]) -> Option<f64> {
    let positives = pairs.iter().filter(|p| p.1).count();
    let negatives = pairs.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Sum of the positives' (1-based, tie-averaged) ranks.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < pairs.len() {
        let mut j = i;
        while j + 1 < pairs.len() && pairs[j + 1].0 == pairs[i].0 {
            j += 1;
        }
        let average_rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += average_rank * pairs[i..=j].iter().filter(|p| p.1).count() as f64;
        i = j + 1;
    }
    let (p, n) = (positives as f64, negatives as f64);
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 { v[m] } else { (v[m - 1] + v[m]) / 2.0 })
}

/// The figures of one target.
pub fn figures(observations: &[Observation]) -> Figures {
    let n = observations.len();
    let positives = observations.iter().filter(|o| o.label).count();
    let mut scored: Vec<(f64, bool)> = observations.iter().filter_map(|o| o.risk.map(|r| (r, o.label))).collect();
    let coverage = if n == 0 { 0.0 } else { scored.len() as f64 / n as f64 };
    let warnings = observations.iter().filter(|o| o.warned).count();
    let true_warnings = observations.iter().filter(|o| o.warned && o.label).count();
    let auc = auc(&mut scored);
    // `scored` is now sorted by risk, lowest first: the top decile is its tail. Ties at the
    // cut are taken in the order they sort (labels of equal risk are interleaved arbitrarily),
    // which is why the cut is made on a stable sort with labels false-first: a conservative lift.
    let lift_top_decile = (!scored.is_empty() && positives > 0).then(|| {
        scored.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let k = scored.len().div_ceil(10);
        let top = &scored[scored.len() - k..];
        let rate_top = top.iter().filter(|p| p.1).count() as f64 / k as f64;
        let rate = scored.iter().filter(|p| p.1).count() as f64 / scored.len() as f64;
        if rate > 0.0 { rate_top / rate } else { 0.0 }
    });
    // Per account with an outcome: the first warning among its observations within the
    // horizon before the outcome.
    let mut by_account: std::collections::BTreeMap<u32, (bool, Option<i64>)> = Default::default();
    for o in observations.iter().filter(|o| o.label) {
        let entry = by_account.entry(o.account).or_insert((false, None));
        if o.warned {
            entry.0 = true;
            if let Some(on) = o.outcome_on {
                let lead = (on - o.day).num_days();
                entry.1 = Some(entry.1.map_or(lead, |l: i64| l.max(lead)));
            }
        }
    }
    let accounts_with_outcome = by_account.len();
    let warned_accounts = by_account.values().filter(|v| v.0).count();
    Figures {
        observations: n,
        positives,
        coverage,
        auc,
        precision: (warnings > 0).then(|| true_warnings as f64 / warnings as f64),
        recall: (positives > 0).then(|| true_warnings as f64 / positives as f64),
        warnings,
        lift_top_decile,
        accounts_with_outcome,
        never_warned_share: (accounts_with_outcome > 0)
            .then(|| (accounts_with_outcome - warned_accounts) as f64 / accounts_with_outcome as f64),
        median_lead_days: median(by_account.values().filter_map(|v| v.1.map(|l| l as f64)).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_by_ranks_with_ties() {
        type Case = (Vec<(f64, bool)>, Option<f64>);
        // (risks with labels, expected)
        let cases: Vec<Case> = vec![
            (vec![(1.0, false), (2.0, true)], Some(1.0)),
            (vec![(2.0, false), (1.0, true)], Some(0.0)),
            (vec![(1.0, false), (1.0, true)], Some(0.5)),
            // 3 positives x 2 negatives; pairs won: (0.9 > all) 2, (0.6 > 0.5, < 0.7) 1, (0.5 = 0.5) 0.5 -> 3.5 / 6.
            (vec![(0.9, true), (0.7, false), (0.6, true), (0.5, false), (0.5, true)], Some(3.5 / 6.0)),
            (vec![(1.0, true)], None),
            (vec![], None),
        ];
        for (i, (mut pairs, expected)) in cases.into_iter().enumerate() {
            let got = auc(&mut pairs);
            assert_eq!(got.map(|a| (a * 1e9).round()), expected.map(|a| (a * 1e9).round()), "case {i}");
        }
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Duration::days(i64::from(d))
    }

    #[test]
    fn precision_recall_lift_and_lead_times() {
        let o = |account, d, risk: Option<f64>, warned, label, outcome: Option<u32>| Observation {
            account,
            day: day(d),
            risk,
            warned,
            label,
            outcome_on: outcome.map(day),
        };
        let obs = vec![
            // Account 0 churns on day 100: warned on day 40 and day 70 (lead 60 from the first).
            o(0, 10, Some(0.2), false, false, None),
            o(0, 40, Some(0.8), true, true, Some(100)),
            o(0, 70, Some(0.9), true, true, Some(100)),
            // Account 1 churns on day 80, never warned.
            o(1, 40, Some(0.1), false, true, Some(80)),
            // Account 2 stays; one false alarm, one unscored date.
            o(2, 40, Some(0.7), true, false, None),
            o(2, 70, None, false, false, None),
            o(3, 40, Some(0.3), false, false, None),
            o(3, 70, Some(0.3), false, false, None),
            o(4, 40, Some(0.4), false, false, None),
            o(4, 70, Some(0.5), false, false, None),
            o(5, 40, Some(0.6), false, false, None),
        ];
        let f = figures(&obs);
        assert_eq!((f.observations, f.positives, f.warnings), (11, 3, 3));
        assert!((f.coverage - 10.0 / 11.0).abs() < 1e-12);
        assert_eq!(f.precision, Some(2.0 / 3.0));
        assert_eq!(f.recall, Some(2.0 / 3.0));
        // Top tenth of 10 scored = the riskiest one (0.9, a churn): 1.0 / (3 / 10).
        assert!((f.lift_top_decile.unwrap() - 10.0 / 3.0).abs() < 1e-12);
        assert_eq!(f.accounts_with_outcome, 2);
        assert_eq!(f.never_warned_share, Some(0.5));
        assert_eq!(f.median_lead_days, Some(60.0));
        assert_eq!(figures(&[]), Figures::default());
    }
}
