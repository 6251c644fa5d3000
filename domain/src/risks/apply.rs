//! Turning findings into risks: raise, refresh, clear (and auto-resolve), respecting dismissal
//! cool-downs. Everything is decided from one read, then written in one transaction; the
//! database's unique index on open fingerprints settles races between replicas.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    sea_query::{Expr, OnConflict},
};

use super::{Evidence, Finding, NewEvent, Risk, event_row, evidence_json, fingerprint, priority};
use crate::entities::{risk, risk_event};
use crate::{AccountId, Error, OrganisationId, Result, RiskEventKind, RiskId, RiskSource, RiskStatus};

/// What one rule said about one account (only rules that evaluated without error).
#[derive(Clone, Debug, Default)]
pub struct RuleOutcome {
    pub rule_key: String,
    pub findings: Vec<Finding>,
    /// The rule's current readings, kept as recovery evidence when a risk clears.
    pub observations: Vec<Evidence>,
    /// Close a risk as resolved when its finding stops firing (otherwise it is only marked
    /// cleared and a person decides).
    pub auto_resolve: bool,
}

/// Every rule outcome of one account.
#[derive(Clone, Debug)]
pub struct AccountOutcome {
    pub account: AccountId,
    pub rules: Vec<RuleOutcome>,
}

/// What applying outcomes changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ApplyStats {
    pub raised: u32,
    pub refreshed: u32,
    pub cleared: u32,
}

enum Write {
    Raise(risk::ActiveModel, RiskId),
    /// A changed risk: the new values, the version it was read at, and its audit entry if any.
    Update(RiskId, i32, risk::ActiveModel, Option<(RiskEventKind, Option<RiskStatus>, Option<RiskStatus>, String)>),
}

fn raise_row(
    org: OrganisationId,
    account: AccountId,
    rule: &str,
    f: &Finding,
    at: DateTime<Utc>,
) -> Result<risk::ActiveModel> {
    let fp = fingerprint(rule, &f.key);
    Ok(risk::ActiveModel {
        id: Set(RiskId::generate().0),
        organisation_id: Set(org.0),
        account_id: Set(account.0),
        source: Set(RiskSource::Rule.as_str().into()),
        rule_key: Set(Some(rule.to_owned())),
        fingerprint: Set(fp.clone()),
        active_fingerprint: Set(Some(fp)),
        category: Set(f.category.as_str().into()),
        title: Set(f.title.clone()),
        detail: Set(f.detail.clone()),
        status: Set(RiskStatus::Identified.as_str().into()),
        impact: Set(f.impact),
        likelihood: Set(f.likelihood),
        priority: Set(priority(f.impact, f.likelihood)),
        assessed: Set(false),
        evidence: Set(evidence_json(&f.evidence)?),
        suggested_playbook: Set(f.suggested_playbook.clone()),
        owner_id: Set(None),
        created_by: Set(None),
        first_seen_at: Set(at),
        last_seen_at: Set(at),
        cleared_at: Set(None),
        clear_evidence: Set(None),
        closed_at: Set(None),
        dismissed_until: Set(None),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
    })
}

/// Applies rule outcomes of accounts of one organisation as of `as_of`:
/// - a finding without an open risk raises one (`identified`), unless the same finding was
///   dismissed and is still cooling down;
/// - a finding with an open risk refreshes it: `last_seen_at` always, the evidence, title and
///   suggested impact/likelihood (unless a person assessed them) when they changed, and it
///   re-opens a cleared risk;
/// - an open risk whose rule ran and no longer reports it is cleared with the rule's
///   observations as recovery evidence, and resolved when the rule auto-resolves.
///
/// Risks of rules that did not run (disabled, failed) are left untouched.
pub async fn apply(
    db: &DatabaseConnection,
    org: OrganisationId,
    as_of: DateTime<Utc>,
    outcomes: &[AccountOutcome],
) -> Result<ApplyStats> {
    let accounts: Vec<AccountId> = outcomes.iter().map(|o| o.account).collect();
    let mut existing = super::open_and_cooling(db, org, &accounts, as_of).await?;
    let mut stats = ApplyStats::default();
    let mut writes = Vec::new();
    let mut seen_only: Vec<uuid::Uuid> = Vec::new();
    for outcome in outcomes {
        let risks = existing.remove(&outcome.account).unwrap_or_default();
        let open: HashMap<&str, &Risk> =
            risks.iter().filter(|r| r.status.is_open()).map(|r| (r.fingerprint.as_str(), r)).collect();
        let cooling: HashSet<&str> = risks
            .iter()
            .filter(|r| r.status == RiskStatus::Dismissed && r.dismissed_until.is_some_and(|u| u > as_of))
            .map(|r| r.fingerprint.as_str())
            .collect();
        for rule in &outcome.rules {
            let mut fired = HashSet::new();
            for f in &rule.findings {
                let fp = fingerprint(&rule.rule_key, &f.key);
                if !fired.insert(fp.clone()) {
                    continue; // the same finding twice from one rule counts once
                }
                match open.get(fp.as_str()) {
                    Some(r) => {
                        stats.refreshed += 1;
                        let (impact, likelihood) =
                            if r.assessed { (r.impact, r.likelihood) } else { (f.impact, f.likelihood) };
                        let changed = r.evidence != f.evidence
                            || r.title != f.title
                            || r.detail != f.detail
                            || r.impact != impact
                            || r.likelihood != likelihood
                            || r.suggested_playbook != f.suggested_playbook
                            || r.cleared_at.is_some();
                        if !changed {
                            seen_only.push(r.id.0);
                            continue;
                        }
                        let changes = risk::ActiveModel {
                            title: Set(f.title.clone()),
                            detail: Set(f.detail.clone()),
                            impact: Set(impact),
                            likelihood: Set(likelihood),
                            priority: Set(priority(impact, likelihood)),
                            evidence: Set(evidence_json(&f.evidence)?),
                            suggested_playbook: Set(f.suggested_playbook.clone()),
                            last_seen_at: Set(as_of),
                            cleared_at: Set(None),
                            clear_evidence: Set(None),
                            version: Set(r.version + 1),
                            updated_at: Set(as_of),
                            ..Default::default()
                        };
                        let event = r
                            .cleared_at
                            .is_some()
                            .then(|| (RiskEventKind::Recurred, None, None, "the rule fires again".to_owned()));
                        writes.push(Write::Update(r.id, r.version, changes, event));
                    }
                    None if cooling.contains(fp.as_str()) => {}
                    None => {
                        stats.raised += 1;
                        let row = raise_row(org, outcome.account, &rule.rule_key, f, as_of)?;
                        let id = RiskId(*row.id.as_ref());
                        writes.push(Write::Raise(row, id));
                    }
                }
            }
            let prefix = format!("{}:", rule.rule_key);
            for r in risks.iter().filter(|r| {
                r.status.is_open()
                    && r.cleared_at.is_none()
                    && r.fingerprint.starts_with(&prefix)
                    && !fired.contains(&r.fingerprint)
            }) {
                stats.cleared += 1;
                let mut changes = risk::ActiveModel {
                    cleared_at: Set(Some(as_of)),
                    clear_evidence: Set(Some(evidence_json(&rule.observations)?)),
                    version: Set(r.version + 1),
                    updated_at: Set(as_of),
                    ..Default::default()
                };
                let event = if rule.auto_resolve {
                    changes.status = Set(RiskStatus::Resolved.as_str().into());
                    changes.active_fingerprint = Set(None);
                    changes.closed_at = Set(Some(as_of));
                    (
                        RiskEventKind::Cleared,
                        Some(r.status),
                        Some(RiskStatus::Resolved),
                        "the rule no longer fires; resolved automatically".to_owned(),
                    )
                } else {
                    (RiskEventKind::Cleared, None, None, "the rule no longer fires".to_owned())
                };
                writes.push(Write::Update(r.id, r.version, changes, Some(event)));
            }
        }
    }
    if writes.is_empty() && seen_only.is_empty() {
        return Ok(stats);
    }
    let raced = crate::db::write::<_, _, _, Error>(db, |tx| {
        Box::pin(async move {
            let mut raced = 0u32;
            for chunk in seen_only.chunks(1000) {
                risk::Entity::update_many()
                    .col_expr(risk::Column::LastSeenAt, Expr::value(as_of))
                    .filter(risk::Column::OrganisationId.eq(org.0))
                    .filter(risk::Column::Id.is_in(chunk.iter().copied()))
                    .exec(tx)
                    .await?;
            }
            for w in writes {
                match w {
                    Write::Raise(row, id) => {
                        // Another replica may have raised the same finding a moment ago: the
                        // unique index on open fingerprints turns the second insert into a no-op.
                        let inserted = risk::Entity::insert(row)
                            .on_conflict(
                                OnConflict::columns([
                                    risk::Column::OrganisationId,
                                    risk::Column::AccountId,
                                    risk::Column::ActiveFingerprint,
                                ])
                                .do_nothing()
                                .to_owned(),
                            )
                            .try_insert()
                            .exec_without_returning(tx)
                            .await?;
                        if !matches!(inserted, sea_orm::TryInsertResult::Inserted(1)) {
                            raced += 1;
                            continue;
                        }
                        let e = NewEvent {
                            risk: id,
                            actor: None,
                            kind: RiskEventKind::Raised,
                            from: None,
                            to: Some(RiskStatus::Identified),
                            note: None,
                        };
                        risk_event::Entity::insert(event_row(org, as_of, e)).exec_without_returning(tx).await?;
                    }
                    Write::Update(id, version, changes, event) => {
                        let done =
                            crate::store::update_if_version(tx, super::cols(), changes, org.0, id.0, version).await?;
                        // Changed meanwhile (by a person or another replica): the next
                        // evaluation reconciles it.
                        if !done {
                            continue;
                        }
                        if let Some((kind, from, to, note)) = event {
                            let e = NewEvent { risk: id, actor: None, kind, from, to, note: Some(&note) };
                            risk_event::Entity::insert(event_row(org, as_of, e)).exec_without_returning(tx).await?;
                            if let Some(to) = to.filter(|t| !t.is_open()) {
                                let note = format!("the risk was {to}");
                                crate::plans::cancel_open_actions(tx, org, id, None, as_of, &note).await?;
                            }
                        }
                    }
                }
            }
            Ok(raced)
        })
    })
    .await?;
    stats.raised -= raced;
    Ok(stats)
}
