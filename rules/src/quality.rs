//! Warning quality in the product: every chosen scorecard and rule evaluated at observation
//! dates over the organisation's own history, against what happened next (see
//! `bellwether_domain::health::quality` for the figures). Loading goes through the same
//! snapshots as live evaluation and backtests; evaluation runs off the async runtime.

use bellwether_domain::health::facts::{self, ActivitySources};
use bellwether_domain::health::quality::{self, Figures, Observation};
use bellwether_domain::health::{self, scorecard};
use bellwether_domain::organisations::end_of_day;
use bellwether_domain::risks::runs;
use bellwether_domain::risks::snapshot::{self, AccountHealth, AccountSnapshot};
use bellwether_domain::{AccountId, Db, Error, OrganisationId, Problems, Result, ScorecardId, Tz};
use chrono::{Duration, NaiveDate};

use crate::engine::{CHUNK, Configured, Engine, off_runtime, run_rule};

/// Most observations (accounts x dates) one evaluation may make.
pub const MAX_OBSERVATIONS: usize = 2_000_000;
/// Most observation dates.
pub const MAX_DATES: usize = 400;
/// Most scorecards and rules evaluated together.
pub const MAX_SCORECARDS: usize = 16;
pub const MAX_RULES: usize = 64;

/// What counts as the outcome after an observation date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The account churned (its recorded churn date) within the horizon.
    Churn,
    /// No client activity within the horizon, for accounts active before the date: the
    /// outcome of purchase-shaped data, where customers stop without saying so.
    Inactivity,
}

/// What to evaluate.
#[derive(Clone, Debug)]
pub struct QualityRequest {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub every_days: i64,
    pub horizon_days: i64,
    pub outcome: Outcome,
    /// Scorecards with an optional threshold (warn below it; default: the WATCH band's lower
    /// edge, i.e. POOR warns). Empty and no rules: the default scorecard and every enabled rule.
    pub scorecards: Vec<(ScorecardId, Option<f64>)>,
    pub rules: Vec<String>,
    /// Only these accounts (default: every account that is not archived).
    pub accounts: Vec<AccountId>,
    /// Parameters to try for some rules (by key), instead of their current settings
    /// (backtests).
    pub rule_params: std::collections::HashMap<String, crate::Params>,
}

/// One target's record.
#[derive(Clone, Debug)]
pub struct TargetQuality {
    pub scorecard: Option<health::Scorecard>,
    pub rule_key: Option<String>,
    pub name: String,
    /// Scorecards: warns below this score.
    pub threshold: Option<f64>,
    pub figures: Figures,
}

/// An evaluation's result.
#[derive(Clone, Debug)]
pub struct Quality {
    pub dates: Vec<NaiveDate>,
    /// Dates left out because their horizon runs past today.
    pub censored_dates: Vec<NaiveDate>,
    pub accounts: usize,
    pub observations: usize,
    /// Share of observations followed by the outcome.
    pub base_rate: Option<f64>,
    pub targets: Vec<TargetQuality>,
}

struct Card {
    scorecard: health::Scorecard,
    threshold: f64,
}

/// Whether the account existed and was still a customer at the end of `day`, and the outcome
/// label then; `None` when the observation does not count (not yet a customer, already gone,
/// nothing known).
fn label(
    s: &AccountSnapshot,
    churned_on: Option<NaiveDate>,
    day: NaiveDate,
    horizon: i64,
    outcome: Outcome,
) -> Option<(bool, Option<NaiveDate>)> {
    if churned_on.is_some_and(|c| c <= day) {
        return None;
    }
    let as_of = s.as_of;
    // Client activity up to the end of the horizon, oldest first: what came before the date
    // says the account was active, what came after it whether it stayed so.
    let moments = || facts::activity(&s.signals, &ActivitySources::default(), as_of + Duration::days(horizon));
    let active_before = |m: &[chrono::DateTime<chrono::Utc>]| {
        m.first().is_some_and(|t| *t <= as_of) || s.signals.last_activity_before.is_some_and(|t| t <= as_of)
    };
    match outcome {
        Outcome::Churn => {
            if s.account.contract_start.is_none_or(|c| c > day) && !active_before(&moments()) {
                return None;
            }
            let churned = churned_on.filter(|c| *c <= day + Duration::days(horizon));
            Some((churned.is_some(), churned))
        }
        Outcome::Inactivity => {
            let m = moments();
            if !active_before(&m) {
                return None;
            }
            Some((!m.iter().any(|t| *t > as_of), None))
        }
    }
}

impl Engine {
    /// Evaluates scorecards and rules at observation dates (the end of each day from `from` to
    /// `to`, every `every_days`, on the organisation's calendar) against the outcome within
    /// `horizon_days` after each. Dates whose horizon runs past today are left out (their
    /// outcome is not known yet). Persists nothing.
    pub async fn warning_quality(
        &self,
        db: &Db,
        org: OrganisationId,
        zone: Tz,
        today: NaiveDate,
        req: QualityRequest,
    ) -> Result<Quality> {
        let mut p = Problems::default();
        if req.every_days < 1 || req.every_days > 365 {
            p.push(&["everyDays"], "must be between 1 and 365");
        }
        if !(1..=730).contains(&req.horizon_days) {
            p.push(&["horizonDays"], "must be between 1 and 730");
        }
        if req.from > req.to {
            p.push(&["from"], "must not be after `to`");
        }
        if req.to > today {
            p.push(&["to"], "must not be in the future");
        }
        if req.scorecards.len() > MAX_SCORECARDS {
            p.push(&["scorecardIds"], format!("at most {MAX_SCORECARDS} scorecards"));
        }
        if req.rules.len() > MAX_RULES {
            p.push(&["ruleKeys"], format!("at most {MAX_RULES} rules"));
        }
        if req.accounts.len() > MAX_OBSERVATIONS {
            p.push(&["accountIds"], format!("at most {MAX_OBSERVATIONS} accounts"));
        }
        for (i, (_, t)) in req.scorecards.iter().enumerate() {
            if t.is_some_and(|t| !(0.0..=100.0).contains(&t)) {
                p.push(&["scorecards", &i.to_string(), "threshold"], "must be between 0 and 100");
            }
        }
        let all_dates: Vec<NaiveDate> = if req.every_days >= 1 && req.from <= req.to {
            let n = ((req.to - req.from).num_days() / req.every_days + 1) as usize;
            if n > MAX_DATES {
                p.push(&["everyDays"], format!("at most {MAX_DATES} dates; widen the step or narrow the range"));
            }
            (0..n.min(MAX_DATES + 1) as i64).map(|i| req.from + Duration::days(i * req.every_days)).collect()
        } else {
            Vec::new()
        };
        p.finish()?;
        let (dates, censored_dates): (Vec<NaiveDate>, Vec<NaiveDate>) =
            all_dates.into_iter().partition(|d| *d + Duration::days(req.horizon_days) <= today);

        // Targets: the scorecards and rules asked for, or the default scorecard and every
        // enabled rule.
        let stored = health::scorecards(db, org).await?;
        let defaults = req.scorecards.is_empty() && req.rules.is_empty();
        let mut cards = Vec::new();
        if defaults {
            cards.extend(stored.iter().filter(|c| c.is_default).map(|c| (c, None)));
        }
        for (i, (id, threshold)) in req.scorecards.iter().enumerate() {
            let Some(c) = stored.iter().find(|c| c.id == *id) else {
                return Err(Error::invalid(
                    &["scorecards", &i.to_string(), "id"],
                    "no such scorecard in your organisation",
                ));
            };
            cards.push((c, *threshold));
        }
        let cards: Vec<Card> = cards
            .into_iter()
            .map(|(c, t)| Card { threshold: t.unwrap_or(c.definition.bands.watch), scorecard: c.clone() })
            .collect();
        let configured = self.configured(db, org).await?;
        let mut rules: Vec<Configured> = Vec::new();
        if defaults {
            rules.extend(configured.iter().filter(|c| c.runs()).cloned());
        }
        for (i, key) in req.rules.iter().enumerate() {
            let Some(c) = configured.iter().find(|c| c.rule.meta().key == *key) else {
                return Err(Error::invalid(&["ruleKeys", &i.to_string()], format!("no rule has the key '{key}'")));
            };
            if !rules.iter().any(|r| r.rule.meta().key == *key) {
                let params = req.rule_params.get(key).cloned().unwrap_or_else(|| c.params.clone());
                rules.push(Configured { params, ..c.clone() });
            }
        }

        // The accounts, bounded before any snapshot is loaded.
        let mut accounts = req.accounts.clone();
        if accounts.is_empty() {
            let mut after = None;
            loop {
                let page = runs::accounts_with_history(db, org, after, 5_000).await?;
                let Some(last) = page.last().copied() else { break };
                accounts.extend(page);
                after = Some(last);
                if accounts.len().saturating_mul(dates.len().max(1)) > MAX_OBSERVATIONS {
                    break;
                }
            }
        } else {
            let mut seen = std::collections::HashSet::new();
            accounts.retain(|a| seen.insert(*a));
        }
        if accounts.len().saturating_mul(dates.len()) > MAX_OBSERVATIONS {
            return Err(Error::invalid(
                &["accountIds"],
                format!(
                    "{} accounts x {} dates is more than {MAX_OBSERVATIONS} observations: choose accounts, fewer dates or a wider step",
                    accounts.len(),
                    dates.len()
                ),
            ));
        }

        let mut needs = Self::needs(&rules);
        let owned: Vec<health::Scorecard> = cards.iter().map(|c| c.scorecard.clone()).collect();
        let (keys, days) = health::metric_needs(&owned);
        needs.metric_keys.extend(keys);
        needs.metric_days = needs.metric_days.max(days);
        let mut per_target: Vec<Vec<Observation>> = vec![Vec::new(); cards.len() + rules.len()];
        let mut base = (0usize, 0usize);
        let Some((first, last)) = dates.first().zip(dates.last()) else {
            return Ok(Quality {
                dates,
                censored_dates,
                accounts: accounts.len(),
                observations: 0,
                base_rate: None,
                targets: targets(&cards, &rules, std::iter::repeat_with(Figures::default)),
            });
        };
        let (earliest, as_of) = (end_of_day(*first, zone), end_of_day(*last, zone));
        // Rules read the default scorecard's health; when it is also a target, its evaluation
        // serves both.
        let default_card = stored.iter().find(|c| c.is_default);
        let default_target = default_card.and_then(|d| cards.iter().position(|c| c.scorecard.id == d.id));
        let shared = std::sync::Arc::new((
            cards.iter().map(|c| (c.scorecard.definition.clone(), c.threshold)).collect::<Vec<_>>(),
            rules.clone(),
            dates.clone(),
            default_card.filter(|_| default_target.is_none()).map(|c| c.definition.clone()),
        ));
        for (chunk_index, chunk) in accounts.chunks(CHUNK).enumerate() {
            let bases = snapshot::load(db, org, chunk, as_of, earliest, &needs).await?;
            if bases.len() < chunk.len() {
                // Accounts of another organisation (or none) are refused like unknown ones.
                return Err(Error::not_found("account", &["accountIds"]));
            }
            let shared = shared.clone();
            let (horizon, outcome) = (req.horizon_days, req.outcome);
            let offset = (chunk_index * CHUNK) as u32;
            let (observed, counts) = off_runtime(move || {
                let (cards, rules, dates, default_card) = &*shared;
                let mut out: Vec<Vec<Observation>> = vec![Vec::new(); cards.len() + rules.len()];
                let mut counts = (0usize, 0usize);
                for (i, base) in bases.iter().enumerate() {
                    for day in dates {
                        let mut s = base.at(end_of_day(*day, zone));
                        let Some((label, outcome_on)) = label(&s, base.account.churned_on, *day, horizon, outcome)
                        else {
                            continue;
                        };
                        counts.0 += 1;
                        counts.1 += usize::from(label);
                        let account = offset + i as u32;
                        let obs = |risk: Option<f64>, warned: bool| Observation {
                            account,
                            day: *day,
                            risk,
                            warned,
                            label,
                            outcome_on,
                        };
                        for (t, (definition, threshold)) in cards.iter().enumerate() {
                            let e = scorecard::evaluate(definition, &s.signals, s.as_of);
                            out[t].push(obs(e.score.map(|v| 100.0 - v), e.score.is_some_and(|v| v < *threshold)));
                            if Some(t) == default_target {
                                s.health = e.score.zip(e.band).map(|(score, band)| AccountHealth { score, band });
                            }
                        }
                        if !rules.is_empty() && default_target.is_none() {
                            s.health = default_card.as_ref().and_then(|c| snapshot::health_at(c, &s));
                        }
                        for (r, c) in rules.iter().enumerate() {
                            let (risk, warned) = match run_rule(c.rule.as_ref(), &s, &c.params) {
                                Ok(e) => {
                                    let top = e.findings.iter().map(|f| f.impact * f.likelihood).max();
                                    (Some(f64::from(top.unwrap_or(0))), top.is_some())
                                }
                                Err(_) => (None, false),
                            };
                            out[cards.len() + r].push(obs(risk, warned));
                        }
                    }
                }
                (out, counts)
            })
            .await?;
            base.0 += counts.0;
            base.1 += counts.1;
            for (all, mut add) in per_target.iter_mut().zip(observed) {
                all.append(&mut add);
            }
        }
        let figures =
            off_runtime(move || per_target.iter().map(|obs| quality::figures(obs)).collect::<Vec<_>>()).await?;
        let targets = targets(&cards, &rules, figures);
        Ok(Quality {
            dates,
            censored_dates,
            accounts: accounts.len(),
            observations: base.0,
            base_rate: (base.0 > 0).then(|| base.1 as f64 / base.0 as f64),
            targets,
        })
    }
}

/// The targets in order (scorecards, then rules) with their figures.
fn targets(cards: &[Card], rules: &[Configured], figures: impl IntoIterator<Item = Figures>) -> Vec<TargetQuality> {
    let scorecards = cards.iter().map(|c| TargetQuality {
        name: c.scorecard.name.clone(),
        scorecard: Some(c.scorecard.clone()),
        rule_key: None,
        threshold: Some(c.threshold),
        figures: Figures::default(),
    });
    let rules = rules.iter().map(|c| TargetQuality {
        scorecard: None,
        rule_key: Some(c.rule.meta().key.clone()),
        name: c.rule.meta().name.clone(),
        threshold: None,
        figures: Figures::default(),
    });
    scorecards.chain(rules).zip(figures).map(|(t, figures)| TargetQuality { figures, ..t }).collect()
}
