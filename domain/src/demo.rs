//! A demo organisation with a small, realistic key-account portfolio, so a newcomer can explore
//! the API within a minute. Loaded once: a second call finds it and changes nothing.

use chrono::{Duration, Utc};

use crate::accounts::NewAccount;
use crate::contacts::NewContact;
use crate::interactions::NewInteraction;
use crate::organisations::NewOrganisation;
use crate::signals::AccountRef;
use crate::signals::assessments::{self, NewAssessment};
use crate::signals::invoices::{self, InvoiceInput};
use crate::signals::metrics::{self, NewMetricPoint};
use crate::signals::surveys::{self, SurveyInput};
use crate::signals::tickets::{self, TicketInput};
use crate::users::NewUser;
use crate::{
    AccountId, Actor, ContactId, ContactLevel as L, ContactRole as R, Db, Direction, InteractionKind as K,
    InvoiceStatus, LifecycleStage, Organisation, Result, Role, Sentiment as S, SurveyKind, TicketPriority,
    TicketStatus, Tier, User, UserId, accounts, contacts, interactions, organisations, users,
};

/// Slug of the demo organisation.
pub const SLUG: &str = "demo";
/// Email of the demo organisation's admin.
pub const ADMIN_EMAIL: &str = "admin@demo.bellwether.dev";

/// What `load` did.
pub struct Demo {
    pub organisation: Organisation,
    pub admin: User,
    /// False when the demo organisation already existed and nothing was written.
    pub created: bool,
}

struct AccountSpec {
    name: &'static str,
    external_ref: &'static str,
    segment: &'static str,
    industry: &'static str,
    tier: Tier,
    stage: LifecycleStage,
    value_eur: i64,
    renewal_in_days: i64,
    manager: usize,
    contacts: &'static [(&'static str, &'static str, L, R, S)],
    /// (days ago, kind, summary, contact indexes)
    interactions: &'static [(i64, K, &'static str, &'static [usize])],
}

const PORTFOLIO: &[AccountSpec] = &[
    AccountSpec {
        name: "Northwind Manufacturing",
        external_ref: "CRM-1001",
        segment: "manufacturing",
        industry: "Industrial machinery",
        tier: Tier::Strategic,
        stage: LifecycleStage::Mature,
        value_eur: 1_250_000,
        renewal_in_days: 75,
        manager: 0,
        contacts: &[
            ("Greta Lindqvist", "Chief Operating Officer", L::Executive, R::ExecutiveSponsor, S::Positive),
            ("Tomas Berg", "Head of Production IT", L::Management, R::Champion, S::Positive),
            ("Ida Holm", "Planner", L::Operational, R::User, S::Neutral),
        ],
        interactions: &[
            (12, K::Qbr, "Quarterly review: usage steady, asked about predictive maintenance module.", &[1, 2]),
            (40, K::CheckIn, "Informal check-in with Tomas; new plant goes live in spring.", &[1]),
            (
                150,
                K::ExecutiveBusinessReview,
                "EBR with Greta: renewal intent confirmed, wants roadmap briefing.",
                &[0, 1],
            ),
        ],
    },
    AccountSpec {
        name: "Helios Bank",
        external_ref: "CRM-1002",
        segment: "banks",
        industry: "Retail banking",
        tier: Tier::Strategic,
        stage: LifecycleStage::Renewal,
        value_eur: 2_400_000,
        renewal_in_days: 45,
        manager: 1,
        contacts: &[
            ("Marcus Feld", "CIO", L::Executive, R::DecisionMaker, S::Neutral),
            ("Sofia Reyes", "Head of Digital Channels", L::Management, R::Champion, S::Negative),
            ("Jon Park", "Procurement Lead", L::Management, R::Blocker, S::Negative),
        ],
        interactions: &[
            (5, K::Escalation, "Escalation: two P1 outages in the mobile channel this month.", &[1]),
            (20, K::Email, "Procurement asked for a 15% discount at renewal.", &[2]),
            (120, K::Meeting, "Last meeting with the CIO; he mentioned a competitor pitch.", &[0]),
        ],
    },
    AccountSpec {
        name: "City of Lakeside",
        external_ref: "CRM-1003",
        segment: "government",
        industry: "Municipal services",
        tier: Tier::Key,
        stage: LifecycleStage::Adoption,
        value_eur: 480_000,
        renewal_in_days: 300,
        manager: 2,
        contacts: &[
            ("Anna Kowalski", "Director of Digital Services", L::Executive, R::ExecutiveSponsor, S::Positive),
            ("Pieter de Vries", "Service Desk Manager", L::Management, R::Influencer, S::Neutral),
        ],
        interactions: &[
            (3, K::Call, "Training plan for the second department agreed.", &[1]),
            (30, K::Meeting, "Adoption workshop; three teams onboarded.", &[0, 1]),
        ],
    },
    AccountSpec {
        name: "Atlas Logistics",
        external_ref: "CRM-1004",
        segment: "logistics",
        industry: "Freight forwarding",
        tier: Tier::Key,
        stage: LifecycleStage::Mature,
        value_eur: 620_000,
        renewal_in_days: 160,
        manager: 0,
        contacts: &[
            ("Rafael Costa", "VP Operations", L::Executive, R::DecisionMaker, S::Neutral),
            ("Lena Vogel", "Operations Analyst", L::Operational, R::Champion, S::Positive),
        ],
        interactions: &[(95, K::CheckIn, "Check-in; quiet since the implementation ended.", &[1])],
    },
    AccountSpec {
        name: "Meridian Health",
        external_ref: "CRM-1005",
        segment: "healthcare",
        industry: "Hospital group",
        tier: Tier::Strategic,
        stage: LifecycleStage::Expansion,
        value_eur: 1_800_000,
        renewal_in_days: 400,
        manager: 1,
        contacts: &[
            ("Dr. Amara Okafor", "Chief Medical Information Officer", L::Executive, R::ExecutiveSponsor, S::Positive),
            ("Kai Nakamura", "IT Programme Manager", L::Management, R::Champion, S::Positive),
            ("Beth Olsen", "Ward Systems Lead", L::Operational, R::User, S::Positive),
        ],
        interactions: &[
            (8, K::Meeting, "Expansion to two more hospitals scoped.", &[0, 1]),
            (25, K::Qbr, "QBR: adoption above plan.", &[1, 2]),
        ],
    },
    AccountSpec {
        name: "Borealis Energy",
        external_ref: "CRM-1006",
        segment: "energy",
        industry: "Utilities",
        tier: Tier::Key,
        stage: LifecycleStage::Renewal,
        value_eur: 750_000,
        renewal_in_days: 60,
        manager: 2,
        contacts: &[
            ("Henrik Aalto", "CFO", L::Executive, R::DecisionMaker, S::Unknown),
            ("Maja Svensson", "Grid Analytics Lead", L::Management, R::Champion, S::Neutral),
        ],
        interactions: &[(70, K::Email, "Invoice query from finance; resolved.", &[])],
    },
    AccountSpec {
        name: "Quayside Retail",
        external_ref: "CRM-1007",
        segment: "retail",
        industry: "Fashion retail",
        tier: Tier::Growth,
        stage: LifecycleStage::Adoption,
        value_eur: 210_000,
        renewal_in_days: 220,
        manager: 0,
        contacts: &[("Chloe Martin", "E-commerce Manager", L::Management, R::Champion, S::Positive)],
        interactions: &[(14, K::Call, "Asked about the reporting add-on.", &[0])],
    },
    AccountSpec {
        name: "Granite Insurance",
        external_ref: "CRM-1008",
        segment: "banks",
        industry: "Insurance",
        tier: Tier::Key,
        stage: LifecycleStage::Mature,
        value_eur: 900_000,
        renewal_in_days: 190,
        manager: 1,
        contacts: &[
            ("Oliver Grant", "COO", L::Executive, R::ExecutiveSponsor, S::Neutral),
            ("Nadia Haddad", "Claims Systems Manager", L::Management, R::Influencer, S::Neutral),
        ],
        interactions: &[(45, K::Meeting, "Roadmap session with claims team.", &[1])],
    },
    AccountSpec {
        name: "Vantage Telecom",
        external_ref: "CRM-1009",
        segment: "telecom",
        industry: "Mobile operator",
        tier: Tier::Growth,
        stage: LifecycleStage::Onboarding,
        value_eur: 180_000,
        renewal_in_days: 330,
        manager: 2,
        contacts: &[("Priya Shah", "Product Owner", L::Management, R::Champion, S::Positive)],
        interactions: &[(2, K::Meeting, "Kick-off for onboarding.", &[0])],
    },
    AccountSpec {
        name: "Ostrava Steelworks",
        external_ref: "CRM-1010",
        segment: "manufacturing",
        industry: "Steel",
        tier: Tier::Standard,
        stage: LifecycleStage::Mature,
        value_eur: 65_000,
        renewal_in_days: 110,
        manager: 3,
        contacts: &[("Jakub Novak", "Maintenance Engineer", L::Operational, R::User, S::Neutral)],
        interactions: &[],
    },
    AccountSpec {
        name: "Pinecrest University",
        external_ref: "CRM-1011",
        segment: "education",
        industry: "Higher education",
        tier: Tier::Standard,
        stage: LifecycleStage::Adoption,
        value_eur: 48_000,
        renewal_in_days: 250,
        manager: 3,
        contacts: &[("Laura Bianchi", "IT Services Coordinator", L::Operational, R::Champion, S::Positive)],
        interactions: &[(60, K::Note, "Renewal expected; budget approved by faculty board.", &[])],
    },
    AccountSpec {
        name: "Northwind Manufacturing - Poland",
        external_ref: "CRM-1012",
        segment: "manufacturing",
        industry: "Industrial machinery",
        tier: Tier::Growth,
        stage: LifecycleStage::Onboarding,
        value_eur: 140_000,
        renewal_in_days: 360,
        manager: 0,
        contacts: &[("Piotr Zielinski", "Plant Manager", L::Management, R::DecisionMaker, S::Unknown)],
        interactions: &[(10, K::Call, "Introductory call; handover from group contact pending.", &[0])],
    },
];

/// Loads the demo organisation if it does not exist yet.
pub async fn load(db: &Db) -> Result<Demo> {
    if let Some(organisation) = organisations::by_slug(db, SLUG).await? {
        let admin = users::by_email(db, organisation.id, ADMIN_EMAIL)
            .await?
            .ok_or_else(|| crate::Error::not_found("user", &["email"]))?;
        return Ok(Demo { organisation, admin, created: false });
    }
    let (organisation, admin) = organisations::create(
        db,
        NewOrganisation {
            slug: SLUG.into(),
            name: "Demo Industries".into(),
            admin_email: ADMIN_EMAIL.into(),
            admin_name: "Alex Admin".into(),
            time_zone: None,
        },
    )
    .await?;
    let actor =
        Actor { organisation: organisation.id, user: admin.id, role: Role::Admin, time_zone: organisation.time_zone };

    let mut team: Vec<UserId> = Vec::new();
    for (email, name, role, capacity) in [
        ("maria@demo.bellwether.dev", "Maria Jensen", Role::AccountManager, Some(4)),
        ("david@demo.bellwether.dev", "David Osei", Role::AccountManager, Some(3)),
        ("sam@demo.bellwether.dev", "Sam Whitaker", Role::AccountManager, Some(6)),
        ("nora@demo.bellwether.dev", "Nora Lind", Role::Sales, None),
        ("head@demo.bellwether.dev", "Helen Brooks", Role::Manager, None),
        ("viewer@demo.bellwether.dev", "Victor Viewer", Role::Viewer, None),
    ] {
        let user =
            users::create(db, &actor, NewUser { email: email.into(), name: name.into(), role, capacity }).await?;
        team.push(user.id);
    }
    // Standard-tier accounts are looked after by sales, with the head of account management.
    let managers = [team[0], team[1], team[2], team[4]];
    let today = Utc::now().date_naive();
    let mut parent: Option<AccountId> = None;
    for spec in PORTFOLIO {
        let account = accounts::create(
            db,
            &actor,
            NewAccount {
                name: spec.name.into(),
                external_ref: Some(spec.external_ref.into()),
                segment: Some(spec.segment.into()),
                industry: Some(spec.industry.into()),
                tier: spec.tier,
                lifecycle_stage: Some(spec.stage),
                annual_value: Some((spec.value_eur * 100, "EUR".into())),
                contract_start: Some(today - Duration::days(365 * 2 - spec.renewal_in_days)),
                renewal_date: Some(today + Duration::days(spec.renewal_in_days)),
                account_manager: Some(managers[spec.manager]),
                sales_owner: (spec.tier == Tier::Standard).then_some(team[3]),
                parent: if spec.external_ref == "CRM-1012" { parent } else { None },
            },
        )
        .await?;
        if spec.external_ref == "CRM-1001" {
            parent = Some(account.id);
        }
        let mut people: Vec<ContactId> = Vec::new();
        for (name, title, level, role, sentiment) in spec.contacts {
            let email = format!(
                "{}@{}.example",
                name.split(' ').next_back().unwrap_or(name).to_lowercase().replace('.', ""),
                spec.external_ref.to_lowercase()
            );
            let c = contacts::create(
                db,
                &actor,
                NewContact {
                    account: account.id,
                    name: (*name).into(),
                    title: Some((*title).into()),
                    email: Some(email),
                    phone: None,
                    level: *level,
                    role: *role,
                    sentiment: Some(*sentiment),
                    active: Some(true),
                    departed_on: None,
                    idempotency_key: None,
                },
            )
            .await?;
            people.push(c.id);
        }
        for (days_ago, kind, summary, who) in spec.interactions {
            interactions::create(
                db,
                &actor,
                NewInteraction {
                    account: account.id,
                    kind: *kind,
                    direction: Some(if *kind == K::Escalation { Direction::Inbound } else { Direction::Outbound }),
                    occurred_at: Utc::now() - Duration::days(*days_ago),
                    summary: (*summary).into(),
                    contacts: who.iter().map(|i| people[*i]).collect(),
                    users: vec![managers[spec.manager]],
                    idempotency_key: None,
                },
            )
            .await?;
        }
    }
    signals(db, &actor).await?;
    follow_through(db, &actor, team[4]).await?;
    // Score every account now, so the portfolio shows health straight away.
    while crate::health::recompute_dirty(db, 100).await? > 0 {}
    Ok(Demo { organisation, admin, created: true })
}

/// A risk being mitigated with a plan and a communication log, and a resolved one with its
/// post-mortem, so the follow-through can be explored at once.
async fn follow_through(db: &Db, actor: &Actor, head: UserId) -> Result<()> {
    use crate::plans::{self, Apply, Assignment};
    use crate::post_mortems::{self, NewPostMortem, Review, Subject};
    use crate::risks::updates::{self, NewUpdate};
    use crate::risks::{self, Evidence, NewRisk};
    use crate::{FeedbackTeam, RiskCategory, RiskStatus, RootCause, UpdateAudience, UpdateChannel, playbooks};
    let account = |r: &'static str| async move {
        accounts::by_external_ref(db, actor.organisation, r)
            .await?
            .ok_or_else(|| crate::Error::not_found("account", &[]))
    };
    let playbook = |k: &'static str| async move {
        playbooks::by_key(db, actor.organisation, k).await?.ok_or_else(|| crate::Error::not_found("playbook", &[]))
    };
    let apply = |risk, playbook, assignments| Apply {
        risk,
        playbook,
        desired_outcome: None,
        internal_stakeholders: vec![head],
        client_stakeholders: Vec::new(),
        communication: None,
        assignments,
        note: None,
    };

    // Helios Bank is being courted by a competitor: an executive business review is under way.
    let helios = account("CRM-1002").await?;
    let courted = risks::create(
        db,
        actor,
        NewRisk {
            account: helios.id,
            category: RiskCategory::Competitive,
            title: "A competitor is courting the CIO".into(),
            detail: "Heard at the user conference: a competitor offered Helios a free migration.".into(),
            impact: 5,
            likelihood: 3,
            owner: helios.account_manager,
            evidence: vec![Evidence::text("source", "user conference, hallway conversation")],
            note: None,
        },
    )
    .await?;
    let review = playbook(playbooks::EXECUTIVE_REVIEW).await?;
    let assign = vec![Assignment { step: 2, owner: Some(head), due_on: None }];
    let plan = plans::apply(db, actor, apply(courted.id, review.id, assign)).await?;
    if let Some(first) =
        plans::actions_of(db, actor.organisation, &[plan.id]).await?.remove(&plan.id).and_then(|a| a.into_iter().next())
    {
        let done = plans::ActionChange::Complete { note: Some("value review deck ready".into()) };
        plans::change_action(db, actor, first.id, done, None).await?;
    }
    for (audience, channel, body) in [
        (UpdateAudience::Internal, UpdateChannel::Chat, "Executive review planned; Helen joins from our side."),
        (UpdateAudience::Client, UpdateChannel::Email, "Proposed dates for an executive review of the year's results."),
    ] {
        let update = NewUpdate { risk: courted.id, audience, channel, body: body.into(), at: None };
        updates::post(db, actor, update).await?;
    }

    // Quayside Retail's payments slipped; the payment plan worked and the lesson went to finance.
    let quayside = account("CRM-1007").await?;
    let slipped = risks::create(
        db,
        actor,
        NewRisk {
            account: quayside.id,
            category: RiskCategory::Financial,
            title: "Payments slipped during their budget freeze".into(),
            detail: "Two invoices paid 40 days late in the spring.".into(),
            impact: 3,
            likelihood: 3,
            owner: quayside.account_manager,
            evidence: Vec::new(),
            note: None,
        },
    )
    .await?;
    let financial = playbook(playbooks::FINANCIAL_REVIEW).await?;
    let assign = vec![
        Assignment { step: 0, owner: Some(head), due_on: None },
        Assignment { step: 2, owner: Some(head), due_on: None },
    ];
    plans::apply(db, actor, apply(slipped.id, financial.id, assign)).await?;
    risks::transition(db, actor, slipped.id, RiskStatus::Resolved, Some("payment plan kept".into()), None).await?;
    let pm = post_mortems::record(
        db,
        actor,
        NewPostMortem {
            subject: Subject::Risk(slipped.id),
            category: None,
            root_cause: RootCause::ClientBudget,
            review: Review {
                summary: "A budget freeze at the client delayed payments; a payment plan fixed it.".into(),
                what_happened: "Two invoices went 40 days overdue while their budget was frozen.".into(),
                what_worked: "Talking to their finance lead early and agreeing a schedule.".into(),
                what_to_improve: "Ask about budget cycles at every quarterly review.".into(),
            },
        },
    )
    .await?;
    post_mortems::add_feedback(
        db,
        actor,
        pm.id,
        FeedbackTeam::Finance,
        "Flag clients in a budget freeze from the first late invoice",
        "",
    )
    .await?;
    Ok(())
}

/// How an account's signals look in the demo.
struct Story {
    external_ref: &'static str,
    /// Active users in the baseline and over the last weeks.
    users: (f64, f64),
    critical_tickets: usize,
    overdue_days: Option<i64>,
    nps: &'static [i32],
    /// (sentiment, competitive pressure, alignment)
    assessment: Option<(i32, i32, i32)>,
}

const STORIES: &[Story] = &[
    Story {
        external_ref: "CRM-1001",
        users: (420.0, 430.0),
        critical_tickets: 0,
        overdue_days: None,
        nps: &[9, 10, 8],
        assessment: Some((4, 2, 5)),
    },
    Story {
        external_ref: "CRM-1002",
        users: (900.0, 560.0),
        critical_tickets: 3,
        overdue_days: None,
        nps: &[3, 5, 6, 8],
        assessment: Some((2, 5, 2)),
    },
    Story {
        external_ref: "CRM-1003",
        users: (150.0, 190.0),
        critical_tickets: 0,
        overdue_days: None,
        nps: &[9, 9],
        assessment: None,
    },
    Story {
        external_ref: "CRM-1004",
        users: (260.0, 200.0),
        critical_tickets: 0,
        overdue_days: None,
        nps: &[],
        assessment: Some((4, 3, 3)),
    },
    Story {
        external_ref: "CRM-1005",
        users: (1200.0, 1350.0),
        critical_tickets: 1,
        overdue_days: None,
        nps: &[10, 9, 10],
        assessment: Some((5, 1, 5)),
    },
    Story {
        external_ref: "CRM-1006",
        users: (310.0, 300.0),
        critical_tickets: 0,
        overdue_days: Some(41),
        nps: &[7],
        assessment: None,
    },
    Story {
        external_ref: "CRM-1007",
        users: (80.0, 85.0),
        critical_tickets: 0,
        overdue_days: None,
        nps: &[],
        assessment: None,
    },
    Story {
        external_ref: "CRM-1008",
        users: (500.0, 470.0),
        critical_tickets: 0,
        overdue_days: Some(12),
        nps: &[8, 7],
        assessment: None,
    },
];

/// Usage series, tickets, invoices, surveys and assessments for the demo accounts.
async fn signals(db: &Db, actor: &Actor) -> Result<()> {
    let now = Utc::now();
    let mut points = Vec::new();
    let mut tickets_in = Vec::new();
    let mut invoices_in = Vec::new();
    let mut surveys_in = Vec::new();
    for story in STORIES {
        let account = AccountRef::ExternalRef(story.external_ref.into());
        for day in 1..=120 {
            let (base, recent) = story.users;
            // The recent level ramps in over the last 30 days; a small weekly rhythm on top.
            let level = if day > 30 { base } else { recent + (base - recent) * (day as f64 / 30.0) };
            let weekly = if day % 7 == 0 || day % 7 == 6 { 0.85 } else { 1.0 };
            points.push(NewMetricPoint {
                account: account.clone(),
                metric: "usage.active_users".into(),
                observed_at: Ok(now - Duration::days(day)),
                value: (level * weekly).round(),
                source: Some("demo".into()),
            });
        }
        for t in 0..story.critical_tickets {
            tickets_in.push(TicketInput {
                account: account.clone(),
                external_id: format!("{}-P1-{t}", story.external_ref),
                subject: Some("Service outage in production".into()),
                priority: TicketPriority::Critical,
                status: TicketStatus::Open,
                opened_at: Ok(now - Duration::days(1 + t as i64 * 2)),
                first_response_at: Some(Ok(now - Duration::days(1 + t as i64 * 2) + Duration::hours(1))),
                resolved_at: None,
            });
        }
        let today = now.date_naive();
        invoices_in.push(InvoiceInput {
            account: account.clone(),
            number: format!("{}-INV-1", story.external_ref),
            amount_minor: Ok(2_500_000),
            currency: "EUR".into(),
            issued_on: Ok(today - Duration::days(100)),
            due_on: Ok(today - Duration::days(70)),
            paid_at: Some(Ok(now - Duration::days(72))),
            status: InvoiceStatus::Paid,
        });
        if let Some(days) = story.overdue_days {
            invoices_in.push(InvoiceInput {
                account: account.clone(),
                number: format!("{}-INV-2", story.external_ref),
                amount_minor: Ok(1_800_000),
                currency: "EUR".into(),
                issued_on: Ok(today - Duration::days(days + 30)),
                due_on: Ok(today - Duration::days(days)),
                paid_at: None,
                status: InvoiceStatus::Open,
            });
        }
        for (i, score) in story.nps.iter().enumerate() {
            surveys_in.push(SurveyInput {
                account: account.clone(),
                kind: SurveyKind::Nps,
                score: *score,
                contact: None,
                comment: None,
                responded_at: Ok(now - Duration::days(20 + i as i64 * 15)),
                idempotency_key: Some(format!("{}-nps-{i}", story.external_ref)),
            });
        }
        if let Some((sentiment, pressure, alignment)) = story.assessment
            && let Some(a) = crate::accounts::by_external_ref(db, actor.organisation, story.external_ref).await?
        {
            assessments::record(
                db,
                actor,
                NewAssessment {
                    account: a.id,
                    assessed_at: Some(now - Duration::days(14)),
                    stakeholder_sentiment: sentiment,
                    competitive_pressure: pressure,
                    strategic_alignment: alignment,
                    notes: None,
                },
            )
            .await?;
        }
    }
    metrics::ingest(db, actor, points).await?;
    tickets::upsert(db, actor, tickets_in).await?;
    invoices::upsert(db, actor, invoices_in).await?;
    surveys::record(db, actor, surveys_in).await?;
    Ok(())
}
