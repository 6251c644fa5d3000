//! Post-mortems: the review of a risk that was resolved or materialized, or of an account that
//! churned. A post-mortem records what happened, what worked and what to improve, and its root
//! cause; the timeline (first signal, risk events, plan actions, updates, interactions), the
//! detection lead time and the rules that fired are assembled from what is stored. Feedback
//! items route its lessons to teams; lessons are queried across post-mortems.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Select,
};

use crate::entities::{feedback_item, interaction, post_mortem, risk, risk_event};
use crate::enums::stored;
use crate::page::{self, KeyKind, KeyValue, Page, PageRequest, Sort};
use crate::plans::{self, PlanAction};
use crate::risks::updates::{self, RiskUpdate};
use crate::risks::{self, Risk, RiskEvent};
use crate::store::{Versioned, is_unique_violation, update_if_version};
use crate::{
    AccountId, AccountStatus, ActionStatus, Actor, Error, FeedbackItemId, FeedbackStatus, FeedbackTeam,
    InteractionKind, OrganisationId, PostMortemId, PostMortemOutcome, Problems, Result, RiskCategory, RiskEventKind,
    RiskId, RiskSource, RiskStatus, RootCause, UserId, accounts, values,
};

/// How far before a churn the timeline and the fired rules reach.
pub const CHURN_LOOKBACK_DAYS: i64 = 365;
/// How far before a risk's first signal its timeline reaches (interactions, other rules).
pub const RISK_LOOKBACK_DAYS: i64 = 90;
/// Most entries a timeline holds (the latest are kept).
pub const MAX_TIMELINE: usize = 500;

/// What a post-mortem reviews.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    /// A resolved or materialized risk.
    Risk(RiskId),
    /// A churned account.
    Churn(AccountId),
}

/// A post-mortem as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct PostMortem {
    pub id: PostMortemId,
    pub organisation: OrganisationId,
    pub account: AccountId,
    /// The risk reviewed; `None` for a churn.
    pub risk: Option<RiskId>,
    /// The churn date reviewed; `None` for a risk.
    pub churned_on: Option<NaiveDate>,
    pub outcome: PostMortemOutcome,
    /// When the risk closed or the account churned.
    pub outcome_at: DateTime<Utc>,
    pub category: Option<RiskCategory>,
    pub root_cause: RootCause,
    pub summary: String,
    pub what_happened: String,
    pub what_worked: String,
    pub what_to_improve: String,
    pub author: UserId,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<post_mortem::Model> for PostMortem {
    type Error = Error;
    fn try_from(m: post_mortem::Model) -> Result<Self> {
        Ok(Self {
            id: PostMortemId(m.id),
            organisation: OrganisationId(m.organisation_id),
            account: AccountId(m.account_id),
            risk: m.risk_id.map(RiskId),
            churned_on: m.churned_on,
            outcome: stored(PostMortemOutcome::parse(&m.outcome))?,
            outcome_at: m.outcome_at,
            category: m.category.as_deref().map(|c| stored(RiskCategory::parse(c))).transpose()?,
            root_cause: stored(RootCause::parse(&m.root_cause))?,
            summary: m.summary,
            what_happened: m.what_happened,
            what_worked: m.what_worked,
            what_to_improve: m.what_to_improve,
            author: UserId(m.author_id),
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

fn cols() -> Versioned<post_mortem::Column> {
    Versioned {
        id: post_mortem::Column::Id,
        organisation: post_mortem::Column::OrganisationId,
        version: post_mortem::Column::Version,
    }
}

/// The reviewing text of a post-mortem.
#[derive(Clone, Debug, Default)]
pub struct Review {
    pub summary: String,
    pub what_happened: String,
    pub what_worked: String,
    pub what_to_improve: String,
}

/// A post-mortem to record.
#[derive(Clone, Debug)]
pub struct NewPostMortem {
    pub subject: Subject,
    /// Defaults to the risk's category; a churn has none unless given.
    pub category: Option<RiskCategory>,
    pub root_cause: RootCause,
    pub review: Review,
}

fn check_review(p: &mut Problems, r: &Review) -> Review {
    let summary = p.check(&["summary"], values::text(&r.summary, 2_000)).unwrap_or_default();
    let mut field =
        |name: &str, v: &str, max: usize| p.check(&[name], values::text_or_empty(v, max)).unwrap_or_default();
    Review {
        summary,
        what_happened: field("whatHappened", &r.what_happened, values::MAX_TEXT),
        what_worked: field("whatWorked", &r.what_worked, values::MAX_TEXT),
        what_to_improve: field("whatToImprove", &r.what_to_improve, values::MAX_TEXT),
    }
}

/// Records the post-mortem of a closed risk (resolved: mitigated; materialized: lost) or of a
/// churned account (lost). One per risk and one per churn; dismissed risks need none.
pub async fn record(db: &DatabaseConnection, actor: &Actor, new: NewPostMortem) -> Result<PostMortem> {
    let org = actor.organisation;
    let (account, risk_id, churned_on, outcome, outcome_at, category) = match new.subject {
        Subject::Risk(id) => {
            let risk = risks::writable(db, actor, id).await?;
            let outcome = match risk.status {
                RiskStatus::Resolved => PostMortemOutcome::Mitigated,
                RiskStatus::Materialized => PostMortemOutcome::Lost,
                RiskStatus::Dismissed => {
                    return Err(Error::invalid(
                        &["riskId"],
                        "a dismissed risk was a false alarm and needs no post-mortem",
                    ));
                }
                s => {
                    return Err(Error::invalid(
                        &["riskId"],
                        format!("the risk is {s}: a post-mortem follows its resolution or materialization"),
                    ));
                }
            };
            let at = risk.closed_at.unwrap_or(risk.updated_at);
            (risk.account, Some(id), None, outcome, at, new.category.or(Some(risk.category)))
        }
        Subject::Churn(id) => {
            actor.require_writer()?;
            let a = accounts::get(db, org, id).await?.ok_or_else(|| Error::not_found("account", &["accountId"]))?;
            actor.require_account_writer(a.account_manager, a.sales_owner)?;
            let Some(on) = a.churned_on.filter(|_| a.status == AccountStatus::Churned) else {
                return Err(Error::invalid(&["accountId"], "the account has not churned"));
            };
            let at = on.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
            (id, None, Some(on), PostMortemOutcome::Lost, at, new.category)
        }
    };
    let mut p = Problems::default();
    let review = check_review(&mut p, &new.review);
    p.finish()?;
    let now = values::now();
    let id = PostMortemId::generate();
    let row = post_mortem::ActiveModel {
        id: Set(id.0),
        organisation_id: Set(org.0),
        account_id: Set(account.0),
        risk_id: Set(risk_id.map(|r| r.0)),
        churned_on: Set(churned_on),
        outcome: Set(outcome.as_str().into()),
        outcome_at: Set(outcome_at),
        category: Set(category.map(|c| c.as_str().to_owned())),
        root_cause: Set(new.root_cause.as_str().into()),
        summary: Set(review.summary),
        what_happened: Set(review.what_happened),
        what_worked: Set(review.what_worked),
        what_to_improve: Set(review.what_to_improve),
        author_id: Set(actor.user.0),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    };
    match post_mortem::Entity::insert(row).exec_without_returning(db).await {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => {
            let field = if risk_id.is_some() { "riskId" } else { "accountId" };
            return Err(Error::conflict(&[field], "a post-mortem of this already exists; update it instead"));
        }
        Err(e) => return Err(e.into()),
    }
    get(db, org, id).await?.ok_or_else(|| Error::not_found("post-mortem", &["id"]))
}

/// A change to a post-mortem; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct Change {
    pub category: Option<Option<RiskCategory>>,
    pub root_cause: Option<RootCause>,
    pub summary: Option<String>,
    pub what_happened: Option<String>,
    pub what_worked: Option<String>,
    pub what_to_improve: Option<String>,
    pub expected_version: Option<i32>,
}

async fn writable(db: &DatabaseConnection, actor: &Actor, id: PostMortemId) -> Result<PostMortem> {
    actor.require_writer()?;
    let pm = get(db, actor.organisation, id).await?.ok_or_else(|| Error::not_found("post-mortem", &["id"]))?;
    let a = accounts::get(db, actor.organisation, pm.account)
        .await?
        .ok_or_else(|| Error::not_found("post-mortem", &["id"]))?;
    actor.require_account_writer(a.account_manager, a.sales_owner)?;
    Ok(pm)
}

/// Edits a post-mortem (those who may write its account).
pub async fn update(db: &DatabaseConnection, actor: &Actor, id: PostMortemId, c: Change) -> Result<PostMortem> {
    let current = writable(db, actor, id).await?;
    if let Some(e) = c.expected_version
        && e != current.version
    {
        return Err(Error::stale("post-mortem", e, current.version));
    }
    let mut p = Problems::default();
    let review = check_review(
        &mut p,
        &Review {
            summary: c.summary.unwrap_or(current.summary),
            what_happened: c.what_happened.unwrap_or(current.what_happened),
            what_worked: c.what_worked.unwrap_or(current.what_worked),
            what_to_improve: c.what_to_improve.unwrap_or(current.what_to_improve),
        },
    );
    p.finish()?;
    let changes = post_mortem::ActiveModel {
        category: Set(c.category.unwrap_or(current.category).map(|c| c.as_str().to_owned())),
        root_cause: Set(c.root_cause.unwrap_or(current.root_cause).as_str().into()),
        summary: Set(review.summary),
        what_happened: Set(review.what_happened),
        what_worked: Set(review.what_worked),
        what_to_improve: Set(review.what_to_improve),
        version: Set(current.version + 1),
        updated_at: Set(values::now()),
        ..Default::default()
    };
    if !update_if_version(db, cols(), changes, actor.organisation.0, id.0, current.version).await? {
        return Err(Error::conflict(&["expectedVersion"], "post-mortem was changed concurrently; reload and retry"));
    }
    get(db, actor.organisation, id).await?.ok_or_else(|| Error::not_found("post-mortem", &["id"]))
}

/// One post-mortem.
pub async fn get(db: &DatabaseConnection, org: OrganisationId, id: PostMortemId) -> Result<Option<PostMortem>> {
    post_mortem::Entity::find_by_id(id.0)
        .filter(post_mortem::Column::OrganisationId.eq(org.0))
        .one(db)
        .await?
        .map(TryInto::try_into)
        .transpose()
}

/// The post-mortems of some risks (risks without one are absent).
pub async fn of_risks(
    db: &DatabaseConnection,
    org: OrganisationId,
    risks: &[RiskId],
) -> Result<std::collections::HashMap<RiskId, PostMortem>> {
    let mut out = std::collections::HashMap::new();
    for chunk in risks.chunks(500) {
        let rows = post_mortem::Entity::find()
            .filter(post_mortem::Column::OrganisationId.eq(org.0))
            .filter(post_mortem::Column::RiskId.is_in(chunk.iter().map(|r| r.0)))
            .all(db)
            .await?;
        for m in rows {
            let pm = PostMortem::try_from(m)?;
            if let Some(r) = pm.risk {
                out.insert(r, pm);
            }
        }
    }
    Ok(out)
}

/// The ids of risks that have a post-mortem, as a subquery for risk filters.
pub(crate) fn reviewed_risks(org: OrganisationId) -> sea_orm::sea_query::SelectStatement {
    sea_orm::sea_query::Query::select()
        .column(post_mortem::Column::RiskId)
        .from(post_mortem::Entity)
        .and_where(post_mortem::Column::OrganisationId.eq(org.0))
        .and_where(post_mortem::Column::RiskId.is_not_null())
        .to_owned()
}

/// For account filters: the account's current churn (its `churned_on`) has a post-mortem.
pub(crate) fn churn_reviewed() -> sea_orm::sea_query::Expr {
    use crate::entities::account;
    use sea_orm::sea_query::{Expr, ExprTrait, Query};
    let same =
        |pm: post_mortem::Column, a: account::Column| Expr::col((post_mortem::Entity, pm)).equals((account::Entity, a));
    Expr::exists(
        Query::select()
            .expr(Expr::val(1))
            .from(post_mortem::Entity)
            .and_where(same(post_mortem::Column::OrganisationId, account::Column::OrganisationId))
            .and_where(same(post_mortem::Column::AccountId, account::Column::Id))
            .and_where(same(post_mortem::Column::ChurnedOn, account::Column::ChurnedOn))
            .to_owned(),
    )
}

/// Which post-mortems a list shows.
#[derive(Clone, Debug, Default)]
pub struct PostMortemFilter {
    pub account: Option<AccountId>,
    pub outcome: Option<PostMortemOutcome>,
    pub root_causes: Option<Vec<RootCause>>,
    pub categories: Option<Vec<RiskCategory>>,
    /// Outcome on or after.
    pub from: Option<DateTime<Utc>>,
    /// Outcome before.
    pub to: Option<DateTime<Utc>>,
}

fn filtered(org: OrganisationId, f: &PostMortemFilter) -> Select<post_mortem::Entity> {
    use post_mortem::Column as C;
    let mut cond = Condition::all().add(C::OrganisationId.eq(org.0));
    if let Some(a) = f.account {
        cond = cond.add(C::AccountId.eq(a.0));
    }
    if let Some(o) = f.outcome {
        cond = cond.add(C::Outcome.eq(o.as_str()));
    }
    if let Some(r) = &f.root_causes {
        cond = cond.add(C::RootCause.is_in(r.iter().map(|r| r.as_str())));
    }
    if let Some(c) = &f.categories {
        cond = cond.add(C::Category.is_in(c.iter().map(|c| c.as_str())));
    }
    if let Some(t) = f.from {
        cond = cond.add(C::OutcomeAt.gte(t));
    }
    if let Some(t) = f.to {
        cond = cond.add(C::OutcomeAt.lt(t));
    }
    post_mortem::Entity::find().filter(cond)
}

/// A page of post-mortems, latest outcome first.
pub async fn list(
    db: &DatabaseConnection,
    org: OrganisationId,
    f: &PostMortemFilter,
    page: &PageRequest,
) -> Result<Page<PostMortem>> {
    let sort = Sort { column: post_mortem::Column::OutcomeAt, kind: KeyKind::Time, nullable: false, descending: true };
    page::fetch(
        db,
        filtered(org, f),
        sort,
        Some(post_mortem::Column::Id),
        page,
        |m| KeyValue::Time(m.outcome_at),
        |m| m.id,
    )
    .await?
    .try_map(TryInto::try_into)
}

/// How many post-mortems match.
pub async fn count(db: &DatabaseConnection, org: OrganisationId, f: &PostMortemFilter) -> Result<u64> {
    Ok(filtered(org, f).count(db).await?)
}

/// Post-mortems per root cause or category, split by outcome.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tally {
    pub count: u64,
    pub mitigated: u64,
    pub lost: u64,
    /// Median detection lead time (first finding to outcome) of those with one, in days.
    pub median_lead_days: Option<f64>,
}

/// What the post-mortems matching a filter teach, grouped.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Lessons {
    pub total: Tally,
    pub by_root_cause: Vec<(RootCause, Tally)>,
    /// `None`: post-mortems without a category (churns).
    pub by_category: Vec<(Option<RiskCategory>, Tally)>,
}

/// Most post-mortems one lessons query reads.
pub const MAX_LESSONS: u64 = 10_000;

/// Groups the post-mortems matching the filter by root cause and by category.
pub async fn lessons(db: &DatabaseConnection, org: OrganisationId, f: &PostMortemFilter) -> Result<Lessons> {
    let rows: Vec<PostMortem> = filtered(org, f)
        .order_by_desc(post_mortem::Column::OutcomeAt)
        .limit(MAX_LESSONS)
        .all(db)
        .await?
        .into_iter()
        .map(TryInto::try_into)
        .collect::<Result<_>>()?;
    let leads = lead_times(db, org, &rows).await?;
    let mut total = (Tally::default(), Vec::new());
    let mut causes: BTreeMap<&'static str, (RootCause, Tally, Vec<f64>)> = BTreeMap::new();
    let mut cats: BTreeMap<&'static str, (Option<RiskCategory>, Tally, Vec<f64>)> = BTreeMap::new();
    fn add(t: &mut Tally, leads: &mut Vec<f64>, pm: &PostMortem, lead: Option<f64>) {
        t.count += 1;
        match pm.outcome {
            PostMortemOutcome::Mitigated => t.mitigated += 1,
            PostMortemOutcome::Lost => t.lost += 1,
        }
        leads.extend(lead);
    }
    for (pm, lead) in rows.iter().zip(leads) {
        add(&mut total.0, &mut total.1, pm, lead);
        let c = causes.entry(pm.root_cause.as_str()).or_insert((pm.root_cause, Tally::default(), Vec::new()));
        add(&mut c.1, &mut c.2, pm, lead);
        let key = pm.category.map_or("", |c| c.as_str());
        let c = cats.entry(key).or_insert((pm.category, Tally::default(), Vec::new()));
        add(&mut c.1, &mut c.2, pm, lead);
    }
    let finish = |mut t: Tally, mut l: Vec<f64>| {
        t.median_lead_days = plans::median(&mut l);
        t
    };
    let mut by_root_cause: Vec<(RootCause, Tally)> = causes.into_values().map(|(k, t, l)| (k, finish(t, l))).collect();
    by_root_cause.sort_by_key(|c| std::cmp::Reverse(c.1.count));
    let mut by_category: Vec<(Option<RiskCategory>, Tally)> =
        cats.into_values().map(|(k, t, l)| (k, finish(t, l))).collect();
    by_category.sort_by_key(|c| std::cmp::Reverse(c.1.count));
    Ok(Lessons { total: finish(total.0, total.1), by_root_cause, by_category })
}

/// The risks a post-mortem looks at: the reviewed risk and the account's other
/// risks first seen in the run-up (a year before a churn; 90 days before the risk's first signal).
async fn risks_in_scope(
    db: &DatabaseConnection,
    org: OrganisationId,
    pm: &PostMortem,
) -> Result<(DateTime<Utc>, Vec<Risk>)> {
    let reviewed = match pm.risk {
        Some(r) => risks::get(db, org, r).await?,
        None => None,
    };
    let start = match &reviewed {
        Some(r) => r.first_seen_at - Duration::days(RISK_LOOKBACK_DAYS),
        None => pm.outcome_at - Duration::days(CHURN_LOOKBACK_DAYS),
    };
    let rows = risk::Entity::find()
        .filter(risk::Column::OrganisationId.eq(org.0))
        .filter(risk::Column::AccountId.eq(pm.account.0))
        .filter(risk::Column::FirstSeenAt.gte(start))
        .filter(risk::Column::FirstSeenAt.lte(pm.outcome_at))
        .order_by_asc(risk::Column::FirstSeenAt)
        .limit(1_000)
        .all(db)
        .await?;
    let mut out: Vec<Risk> = rows.into_iter().map(TryInto::try_into).collect::<Result<_>>()?;
    if let Some(r) = reviewed
        && !out.iter().any(|x| x.id == r.id)
    {
        out.insert(0, r);
    }
    Ok((start, out))
}

/// Detection lead time of each post-mortem, in days: from the first finding (the reviewed risk's
/// first sighting; for a churn, the earliest rule risk of the year before) to the outcome.
async fn lead_times(db: &DatabaseConnection, org: OrganisationId, pms: &[PostMortem]) -> Result<Vec<Option<f64>>> {
    let risk_ids: Vec<uuid::Uuid> = pms.iter().filter_map(|p| p.risk.map(|r| r.0)).collect();
    let mut first_seen: std::collections::HashMap<uuid::Uuid, DateTime<Utc>> = std::collections::HashMap::new();
    for chunk in risk_ids.chunks(500) {
        let rows: Vec<(uuid::Uuid, DateTime<Utc>)> = risk::Entity::find()
            .select_only()
            .column(risk::Column::Id)
            .column(risk::Column::FirstSeenAt)
            .filter(risk::Column::OrganisationId.eq(org.0))
            .filter(risk::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        first_seen.extend(rows);
    }
    // Churns: the rule risks of the churned accounts, in one query per 500 accounts; the earliest
    // first sighting within each churn's look-back window.
    let churned: Vec<uuid::Uuid> = pms.iter().filter(|p| p.risk.is_none()).map(|p| p.account.0).collect();
    let mut sightings: std::collections::HashMap<uuid::Uuid, Vec<DateTime<Utc>>> = std::collections::HashMap::new();
    for chunk in churned.chunks(500) {
        let rows: Vec<(uuid::Uuid, DateTime<Utc>)> = risk::Entity::find()
            .select_only()
            .column(risk::Column::AccountId)
            .column(risk::Column::FirstSeenAt)
            .filter(risk::Column::OrganisationId.eq(org.0))
            .filter(risk::Column::AccountId.is_in(chunk.iter().copied()))
            .filter(risk::Column::Source.eq(RiskSource::Rule.as_str()))
            .into_tuple()
            .all(db)
            .await?;
        for (account, at) in rows {
            sightings.entry(account).or_default().push(at);
        }
    }
    Ok(pms
        .iter()
        .map(|pm| {
            let first = match pm.risk {
                Some(r) => first_seen.get(&r.0).copied(),
                None => {
                    let start = pm.outcome_at - Duration::days(CHURN_LOOKBACK_DAYS);
                    let seen = sightings.get(&pm.account.0).map(Vec::as_slice).unwrap_or_default();
                    seen.iter().copied().filter(|at| *at >= start && *at <= pm.outcome_at).min()
                }
            };
            first.map(|f| days(pm.outcome_at - f))
        })
        .collect())
}

fn days(d: Duration) -> f64 {
    (d.num_seconds().max(0) as f64 / 86_400.0 * 10.0).round() / 10.0
}

/// What an entry of a post-mortem timeline records.
#[derive(Clone, Debug, PartialEq)]
pub enum TimelineEvent {
    /// A rule first reported a risk (the first signal).
    FirstSignal { rule_key: String },
    /// An entry of a risk's audit trail.
    Risk(RiskEventKind),
    /// A plan action was planned, completed or cancelled.
    Action(ActionStatus),
    /// An update was given.
    Update,
    /// An interaction with the client.
    Interaction(InteractionKind),
    /// The account churned.
    Churn,
}

/// One entry of a post-mortem's timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    pub event: TimelineEvent,
    pub risk: Option<RiskId>,
    pub actor: Option<UserId>,
    pub text: String,
}

/// What a post-mortem's assembly found: the timeline, the detection lead time and which rules
/// fired in the run-up.
#[derive(Clone, Debug, PartialEq)]
pub struct Assembly {
    pub timeline: Vec<TimelineEntry>,
    /// Days from the first finding to the outcome; `None` when no rule saw it coming.
    pub detection_lead_days: Option<f64>,
    /// Rule keys that raised risks on the account in the run-up, earliest first.
    pub rules_fired: Vec<String>,
}

/// Assembles a post-mortem's timeline and figures from the risks, plans, updates and
/// interactions on record.
pub async fn assemble(db: &DatabaseConnection, org: OrganisationId, pm: &PostMortem) -> Result<Assembly> {
    let (start, scope) = risks_in_scope(db, org, pm).await?;
    let mut timeline = Vec::new();
    // What happened to risks (events, actions, updates): the reviewed risk's, or every risk's of
    // the run-up to a churn. Other rules' first signals are context either way.
    let followed: Vec<&Risk> = match pm.risk {
        Some(id) => scope.iter().filter(|r| r.id == id).collect(),
        None => scope.iter().collect(),
    };
    let ids: Vec<uuid::Uuid> = followed.iter().map(|r| r.id.0).collect();
    for chunk in ids.chunks(500) {
        let events = risk_event::Entity::find()
            .filter(risk_event::Column::OrganisationId.eq(org.0))
            .filter(risk_event::Column::RiskId.is_in(chunk.iter().copied()))
            .all(db)
            .await?;
        for m in events {
            let e = RiskEvent::try_from(m)?;
            let title = scope.iter().find(|r| r.id == e.risk).map(|r| r.title.as_str()).unwrap_or_default();
            let what = match (e.from, e.to) {
                (Some(f), Some(t)) => format!("{title}: {f} -> {t}"),
                (None, Some(t)) => format!("{title}: {} ({t})", e.kind),
                _ => format!("{title}: {}", e.kind),
            };
            let text = e.note.as_deref().map_or(what.clone(), |n| format!("{what} - {n}"));
            timeline.push(TimelineEntry {
                at: e.at,
                event: TimelineEvent::Risk(e.kind),
                risk: Some(e.risk),
                actor: e.actor,
                text,
            });
        }
    }
    // The first signal of each rule risk: when it was first seen, or its first audit entry if
    // that was written a moment earlier (the same evaluation).
    let mut fired = Vec::new();
    for r in &scope {
        if r.source == RiskSource::Rule
            && let Some(rule) = &r.rule_key
        {
            if !fired.contains(rule) {
                fired.push(rule.clone());
            }
            let first_event = timeline.iter().filter(|e| e.risk == Some(r.id)).map(|e| e.at).min();
            timeline.push(TimelineEntry {
                at: first_event.map_or(r.first_seen_at, |e| e.min(r.first_seen_at)),
                event: TimelineEvent::FirstSignal { rule_key: rule.clone() },
                risk: Some(r.id),
                actor: None,
                text: r.title.clone(),
            });
        }
    }
    let in_scope = |r: RiskId| followed.iter().any(|s| s.id == r);
    let actions: Vec<PlanAction> = plans::actions_of_account(db, org, pm.account, pm.risk).await?;
    for a in actions.into_iter().filter(|a| in_scope(a.risk)) {
        timeline.push(TimelineEntry {
            at: a.created_at,
            event: TimelineEvent::Action(ActionStatus::Open),
            risk: Some(a.risk),
            actor: Some(a.owner),
            text: format!("planned: {} (due {})", a.title, a.due_on),
        });
        if let Some(closed) = a.closed_at {
            let verb = if a.status == ActionStatus::Done { "done" } else { "cancelled" };
            timeline.push(TimelineEntry {
                at: closed,
                event: TimelineEvent::Action(a.status),
                risk: Some(a.risk),
                actor: a.closed_by,
                text: format!("{verb}: {}{}", a.title, a.note.map(|n| format!(" - {n}")).unwrap_or_default()),
            });
        }
    }
    let updates: Vec<RiskUpdate> = updates::of_account(db, org, pm.account, pm.risk).await?;
    for u in updates.into_iter().filter(|u| in_scope(u.risk)) {
        timeline.push(TimelineEntry {
            at: u.at,
            event: TimelineEvent::Update,
            risk: Some(u.risk),
            actor: Some(u.author),
            text: format!("{} update by {}: {}", u.audience, u.channel, u.body),
        });
    }
    let interactions = interaction::Entity::find()
        .filter(interaction::Column::OrganisationId.eq(org.0))
        .filter(interaction::Column::AccountId.eq(pm.account.0))
        .filter(interaction::Column::ArchivedAt.is_null())
        .filter(interaction::Column::OccurredAt.gte(start))
        .filter(interaction::Column::OccurredAt.lte(pm.outcome_at))
        .order_by_desc(interaction::Column::OccurredAt)
        .limit(MAX_TIMELINE as u64)
        .all(db)
        .await?;
    for i in interactions {
        timeline.push(TimelineEntry {
            at: i.occurred_at,
            event: TimelineEvent::Interaction(stored(InteractionKind::parse(&i.kind))?),
            risk: None,
            actor: None,
            text: i.summary,
        });
    }
    if pm.churned_on.is_some() {
        timeline.push(TimelineEntry {
            at: pm.outcome_at,
            event: TimelineEvent::Churn,
            risk: None,
            actor: None,
            text: "the account churned".into(),
        });
    }
    // By time; at the same moment a first signal comes before what followed from it.
    timeline.sort_by_key(|e| (e.at, !matches!(e.event, TimelineEvent::FirstSignal { .. })));
    if timeline.len() > MAX_TIMELINE {
        timeline.drain(..timeline.len() - MAX_TIMELINE);
    }
    let lead = lead_times(db, org, std::slice::from_ref(pm)).await?.pop().flatten();
    Ok(Assembly { timeline, detection_lead_days: lead, rules_fired: fired })
}

/// A lesson routed to a team.
#[derive(Clone, Debug, PartialEq)]
pub struct FeedbackItem {
    pub id: FeedbackItemId,
    pub post_mortem: PostMortemId,
    pub team: FeedbackTeam,
    pub title: String,
    pub detail: String,
    pub status: FeedbackStatus,
    pub created_by: UserId,
    /// When it was done or declined.
    pub closed_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<feedback_item::Model> for FeedbackItem {
    type Error = Error;
    fn try_from(m: feedback_item::Model) -> Result<Self> {
        Ok(Self {
            id: FeedbackItemId(m.id),
            post_mortem: PostMortemId(m.post_mortem_id),
            team: stored(FeedbackTeam::parse(&m.team))?,
            title: m.title,
            detail: m.detail,
            status: stored(FeedbackStatus::parse(&m.status))?,
            created_by: UserId(m.created_by),
            closed_at: m.closed_at,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

fn feedback_cols() -> Versioned<feedback_item::Column> {
    Versioned {
        id: feedback_item::Column::Id,
        organisation: feedback_item::Column::OrganisationId,
        version: feedback_item::Column::Version,
    }
}

/// Most feedback items one post-mortem may route.
pub const MAX_FEEDBACK: u64 = 50;

/// Routes a lesson of a post-mortem to a team (those who may write the post-mortem).
pub async fn add_feedback(
    db: &DatabaseConnection,
    actor: &Actor,
    post_mortem: PostMortemId,
    team: FeedbackTeam,
    title: &str,
    detail: &str,
) -> Result<FeedbackItem> {
    let pm = writable(db, actor, post_mortem).await.map_err(|e| match e {
        Error::NotFound { .. } => Error::not_found("post-mortem", &["postMortemId"]),
        e => e,
    })?;
    let org = actor.organisation;
    let mut p = Problems::default();
    let title = p.check(&["title"], values::line(title, 300));
    let detail = p.check(&["detail"], values::text_or_empty(detail, values::MAX_TEXT));
    let existing = feedback_item::Entity::find()
        .filter(feedback_item::Column::OrganisationId.eq(org.0))
        .filter(feedback_item::Column::PostMortemId.eq(pm.id.0))
        .count(db)
        .await?;
    if existing >= MAX_FEEDBACK {
        p.push(&["postMortemId"], format!("a post-mortem routes at most {MAX_FEEDBACK} feedback items"));
    }
    p.finish()?;
    let now = values::now();
    let id = FeedbackItemId::generate();
    feedback_item::Entity::insert(feedback_item::ActiveModel {
        id: Set(id.0),
        organisation_id: Set(org.0),
        post_mortem_id: Set(pm.id.0),
        team: Set(team.as_str().into()),
        title: Set(title.unwrap()),
        detail: Set(detail.unwrap()),
        status: Set(FeedbackStatus::Open.as_str().into()),
        created_by: Set(actor.user.0),
        closed_at: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(db)
    .await?;
    feedback(db, org, id).await?.ok_or_else(|| Error::not_found("feedback item", &["id"]))
}

/// A change to a feedback item; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct FeedbackChange {
    pub team: Option<FeedbackTeam>,
    pub title: Option<String>,
    pub detail: Option<String>,
    pub status: Option<FeedbackStatus>,
    pub expected_version: Option<i32>,
}

/// Moves or edits a feedback item. Any writer may: the receiving team works on it, and teams
/// (product, marketing...) rarely own accounts.
pub async fn update_feedback(
    db: &DatabaseConnection,
    actor: &Actor,
    id: FeedbackItemId,
    c: FeedbackChange,
) -> Result<FeedbackItem> {
    actor.require_writer()?;
    let org = actor.organisation;
    let current = feedback(db, org, id).await?.ok_or_else(|| Error::not_found("feedback item", &["id"]))?;
    if let Some(e) = c.expected_version
        && e != current.version
    {
        return Err(Error::stale("feedback item", e, current.version));
    }
    let mut p = Problems::default();
    let title = c.title.as_deref().and_then(|t| p.check(&["title"], values::line(t, 300)));
    let detail = c.detail.as_deref().and_then(|d| p.check(&["detail"], values::text_or_empty(d, values::MAX_TEXT)));
    p.finish()?;
    let now = values::now();
    let mut changes =
        feedback_item::ActiveModel { version: Set(current.version + 1), updated_at: Set(now), ..Default::default() };
    if let Some(t) = c.team {
        changes.team = Set(t.as_str().into());
    }
    if let Some(t) = title {
        changes.title = Set(t);
    }
    if let Some(d) = detail {
        changes.detail = Set(d);
    }
    if let Some(s) = c.status {
        changes.status = Set(s.as_str().into());
        let closed = matches!(s, FeedbackStatus::Done | FeedbackStatus::Declined);
        changes.closed_at = Set(closed.then_some(current.closed_at.unwrap_or(now)));
    }
    if !update_if_version(db, feedback_cols(), changes, org.0, id.0, current.version).await? {
        return Err(Error::conflict(&["expectedVersion"], "feedback item was changed concurrently; reload and retry"));
    }
    feedback(db, org, id).await?.ok_or_else(|| Error::not_found("feedback item", &["id"]))
}

/// One feedback item.
pub async fn feedback(
    db: &DatabaseConnection,
    org: OrganisationId,
    id: FeedbackItemId,
) -> Result<Option<FeedbackItem>> {
    feedback_item::Entity::find_by_id(id.0)
        .filter(feedback_item::Column::OrganisationId.eq(org.0))
        .one(db)
        .await?
        .map(TryInto::try_into)
        .transpose()
}

/// The feedback items of some post-mortems, oldest first (post-mortems without any are absent).
pub async fn feedback_of(
    db: &DatabaseConnection,
    org: OrganisationId,
    post_mortems: &[PostMortemId],
) -> Result<std::collections::HashMap<PostMortemId, Vec<FeedbackItem>>> {
    let mut out: std::collections::HashMap<PostMortemId, Vec<FeedbackItem>> = std::collections::HashMap::new();
    for chunk in post_mortems.chunks(500) {
        let rows = feedback_item::Entity::find()
            .filter(feedback_item::Column::OrganisationId.eq(org.0))
            .filter(feedback_item::Column::PostMortemId.is_in(chunk.iter().map(|p| p.0)))
            .order_by_asc(feedback_item::Column::CreatedAt)
            .order_by_asc(feedback_item::Column::Id)
            .all(db)
            .await?;
        for m in rows {
            let f = FeedbackItem::try_from(m)?;
            out.entry(f.post_mortem).or_default().push(f);
        }
    }
    Ok(out)
}

/// Which feedback items a list shows.
#[derive(Clone, Debug, Default)]
pub struct FeedbackFilter {
    pub post_mortem: Option<PostMortemId>,
    pub teams: Option<Vec<FeedbackTeam>>,
    pub statuses: Option<Vec<FeedbackStatus>>,
}

fn feedback_filtered(org: OrganisationId, f: &FeedbackFilter) -> Select<feedback_item::Entity> {
    use feedback_item::Column as C;
    let mut cond = Condition::all().add(C::OrganisationId.eq(org.0));
    if let Some(pm) = f.post_mortem {
        cond = cond.add(C::PostMortemId.eq(pm.0));
    }
    if let Some(t) = &f.teams {
        cond = cond.add(C::Team.is_in(t.iter().map(|t| t.as_str())));
    }
    if let Some(s) = &f.statuses {
        cond = cond.add(C::Status.is_in(s.iter().map(|s| s.as_str())));
    }
    feedback_item::Entity::find().filter(cond)
}

/// A page of feedback items, oldest first (the queue a team works through).
pub async fn list_feedback(
    db: &DatabaseConnection,
    org: OrganisationId,
    f: &FeedbackFilter,
    page: &PageRequest,
) -> Result<Page<FeedbackItem>> {
    let sort =
        Sort { column: feedback_item::Column::CreatedAt, kind: KeyKind::Time, nullable: false, descending: false };
    page::fetch(
        db,
        feedback_filtered(org, f),
        sort,
        Some(feedback_item::Column::Id),
        page,
        |m| KeyValue::Time(m.created_at),
        |m| m.id,
    )
    .await?
    .try_map(TryInto::try_into)
}

/// How many feedback items match.
pub async fn count_feedback(db: &DatabaseConnection, org: OrganisationId, f: &FeedbackFilter) -> Result<u64> {
    Ok(feedback_filtered(org, f).count(db).await?)
}

/// The enabled rules that are not among the fired ones, in the order given ("did not fire").
pub fn silent_rules<'a>(enabled: impl IntoIterator<Item = &'a str>, fired: &[String]) -> Vec<String> {
    let fired: BTreeSet<&str> = fired.iter().map(String::as_str).collect();
    enabled.into_iter().filter(|k| !fired.contains(k)).map(str::to_owned).collect()
}
