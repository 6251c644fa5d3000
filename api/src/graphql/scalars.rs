//! Scalars and closed vocabularies of the API, converted by hand to and from domain types.

use async_graphql::{Enum, InputValueError, InputValueResult, Scalar, ScalarType, SimpleObject, Value};
use bellwether_domain as d;
use chrono::NaiveDate;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Date(pub NaiveDate);

/// A calendar day without a time or time zone, as a string `YYYY-MM-DD` (RFC 3339 `full-date`,
/// the ISO 8601 extended calendar date), e.g. `2026-11-23`. Days such as deadlines and
/// renewals are read on the organisation's calendar (`Organisation.timeZone`).
#[Scalar(name = "Date", specified_by_url = "https://datatracker.ietf.org/doc/html/rfc3339#section-5.6")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(Date)
                .map_err(|_| InputValueError::custom(format!("'{s}' is not a date in the form YYYY-MM-DD"))),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MinorUnits(pub i64);

/// An amount of money in the currency's minor unit (cents for EUR and USD, yen for JPY; see
/// `Money.exponent`), as a JSON integer, never a string or a fraction: `1999` is 19.99 EUR.
/// At most 2^53 - 1 (9007199254740991) in absolute value, the largest integer JavaScript
/// clients hold exactly; larger values are refused.
#[Scalar(name = "MinorUnits")]
impl ScalarType for MinorUnits {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::Number(n) => match n.as_i64() {
                Some(i) if i.unsigned_abs() <= d::Money::MAX_MINOR as u64 => Ok(MinorUnits(i)),
                _ => Err(InputValueError::custom("must be an integer between -(2^53 - 1) and 2^53 - 1")),
            },
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::Number(self.0.into())
    }
}

/// A scalar a bulk item may carry malformed: [`Lenient`] keeps the failure for the item.
pub trait LenientScalar: async_graphql::InputType {
    /// What a valid value looks like, completing "must be ...".
    const EXPECTED: &'static str;
}

impl LenientScalar for chrono::DateTime<chrono::Utc> {
    const EXPECTED: &'static str = "an RFC 3339 date-time with an offset, e.g. 2026-11-23T09:30:00Z";
}
impl LenientScalar for Date {
    const EXPECTED: &'static str = "a date in the form YYYY-MM-DD";
}
impl LenientScalar for MinorUnits {
    const EXPECTED: &'static str = "an integer between -(2^53 - 1) and 2^53 - 1 (minor units)";
}

/// A scalar of a bulk item, coerced per item: a malformed value does not fail the whole call
/// (GraphQL would refuse the whole argument) but rejects its item, with its index and field,
/// while the other items are written. Registered as `T` itself, so the schema shows `T`.
pub struct Lenient<T>(pub Result<T, String>);

impl<T: LenientScalar> async_graphql::InputType for Lenient<T> {
    type RawValueType = T::RawValueType;

    fn type_name() -> std::borrow::Cow<'static, str> {
        T::type_name()
    }

    fn qualified_type_name() -> String {
        T::qualified_type_name()
    }

    fn create_type_info(registry: &mut async_graphql::registry::Registry) -> String {
        T::create_type_info(registry)
    }

    fn parse(value: Option<Value>) -> InputValueResult<Self> {
        Ok(Lenient(T::parse(value).map_err(|_| format!("must be {}", T::EXPECTED))))
    }

    fn to_value(&self) -> Value {
        self.0.as_ref().map_or(Value::Null, async_graphql::InputType::to_value)
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        self.0.as_ref().ok().and_then(async_graphql::InputType::as_raw_value)
    }
}

/// An amount of money. Never a float.
#[derive(SimpleObject, Clone, Debug)]
pub struct Money {
    /// Amount in minor units (cents for EUR and USD).
    pub amount_minor: MinorUnits,
    /// ISO 4217 currency code, e.g. `EUR`.
    pub currency: String,
    /// Digits of the currency's minor unit (ISO 4217): 2 for EUR and USD, 0 for JPY, 3 for BHD.
    /// The amount in major units is `amountMinor / 10^exponent`.
    pub exponent: i32,
}

impl From<d::Money> for Money {
    fn from(m: d::Money) -> Self {
        let exponent = m.exponent() as i32;
        Self { amount_minor: MinorUnits(m.amount_minor), currency: m.currency, exponent }
    }
}

/// An amount of money as input.
#[derive(async_graphql::InputObject, Clone, Debug)]
pub struct MoneyInput {
    /// Amount in minor units (cents for EUR and USD); not negative.
    pub amount_minor: MinorUnits,
    /// ISO 4217 currency code, e.g. `EUR`.
    pub currency: String,
}

impl MoneyInput {
    pub fn into_parts(self) -> (i64, String) {
        (self.amount_minor.0, self.currency)
    }
}

/// Declares a GraphQL enum mirroring a domain enum, with conversions both ways.
macro_rules! mirror_enum {
    ($(#[doc = $doc:literal])* $name:ident => $domain:ident { $($(#[doc = $vdoc:literal])* $variant:ident),* $(,)? }) => {
        $(#[doc = $doc])*
        #[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $name { $($(#[doc = $vdoc])* $variant),* }

        impl From<$name> for d::$domain {
            fn from(v: $name) -> Self {
                match v { $($name::$variant => d::$domain::$variant),* }
            }
        }

        impl From<d::$domain> for $name {
            fn from(v: d::$domain) -> Self {
                match v { $(d::$domain::$variant => $name::$variant),* }
            }
        }
    };
}

mirror_enum!(
    /// What a user may do in their organisation.
    Role => Role {
        /// Everything, including managing users.
        Admin,
        /// Writes everything in the organisation except users.
        Manager,
        /// Writes the accounts they manage, with their contacts and interactions.
        AccountManager,
        /// Writes the accounts they are sales owner of.
        Sales,
        /// Reads only; also the role for read-only integrations.
        Viewer,
    }
);

mirror_enum!(
    /// How important an account is.
    Tier => Tier {
        /// The few accounts the business depends on.
        Strategic,
        /// Key accounts with a dedicated account manager.
        Key,
        /// Accounts being developed toward key status.
        Growth,
        /// Everyone else, served by sales and customer service.
        Standard,
    }
);

mirror_enum!(
    /// Where an account is in its life with the organisation.
    LifecycleStage => LifecycleStage {
        /// Being set up.
        Onboarding,
        /// Rolling out and learning the product.
        Adoption,
        /// Growing its use (new teams, modules, sites).
        Expansion,
        /// Steady use.
        Mature,
        /// Renewal under negotiation.
        Renewal,
    }
);

mirror_enum!(
    /// Whether the account is still a customer.
    AccountStatus => AccountStatus {
        /// A current customer.
        Active,
        /// Lost; see `churnedOn` and `churnReason`.
        Churned,
    }
);

mirror_enum!(
    /// Seniority of a stakeholder at the client.
    ContactLevel => ContactLevel {
        /// C-level and directors.
        Executive,
        /// Heads of department and managers.
        Management,
        /// Working level.
        Operational,
    }
);

mirror_enum!(
    /// The part a stakeholder plays in the relationship.
    ContactRole => ContactRole {
        /// Signs off decisions.
        DecisionMaker,
        /// Advocates for us inside the client.
        Champion,
        /// Shapes opinions without deciding.
        Influencer,
        /// Senior sponsor of the relationship.
        ExecutiveSponsor,
        /// Uses the product.
        User,
        /// Works against us.
        Blocker,
    }
);

mirror_enum!(
    /// The account team's read of a stakeholder's attitude.
    Sentiment => Sentiment {
        /// Favourable.
        Positive,
        /// Neither.
        Neutral,
        /// Unfavourable.
        Negative,
        /// Not assessed.
        Unknown,
    }
);

mirror_enum!(
    /// What a health measure looks at; each reads one number through its scoring curve (or
    /// scores options).
    HealthMeasureKind => MeasureKind {
        /// A usage metric now against the account's own baseline (curve over the relative
        /// change; -0.15 is a 15% drop).
        UsageTrend,
        /// Critical tickets open, new this week and their surge (curve over load points: 20 per
        /// open critical ticket, 10 per one opened this week, 10 for a surge).
        SupportLoad,
        /// How overdue the open invoices are (curve over the most days overdue).
        PaymentBehaviour,
        /// NPS and CSAT over the last 180 days (curve over their 0-100 composite).
        NpsCsat,
        /// The latest relationship assessment (curve over the mean of its three 1-5 answers).
        RelationshipHealth,
        /// How recently the account was in touch, executives especially (curve over days; 20
        /// points off without an executive contact in 90 days).
        EngagementRecency,
        /// Days since the last activity of the chosen interaction kinds (default: all but
        /// internal notes) and positive observations of the chosen metrics. Silence counts:
        /// an account quiet since its contract started, or since earlier activity, is scored on
        /// that silence.
        DaysSinceActivity,
        /// Share of recent periods (`periodDays`, default 30, over `windowDays`, default 90)
        /// with any activity (curve over the share, 0-1).
        ActivityFrequency,
        /// The recent share of active periods over the share in the `baselineDays` before
        /// (default 270): activity against the account's own past (curve over the ratio; 1 is
        /// unchanged).
        ActivityTrend,
        /// A metric's level over `windowDays` against `target` or each account's own
        /// entitlement in a number attribute, e.g. seats used of licensed (curve over the ratio).
        MetricLevel,
        /// Days since the contract started (curve over days).
        Tenure,
        /// Length of the contract term in effect, in months (curve over months).
        ContractTerm,
        /// Days until the renewal date, negative once it passed (curve over days).
        DaysToRenewal,
        /// Annual contract value in major units (a curve is required).
        AnnualValue,
        /// Annual value against a year earlier, from contract changes (curve over the change).
        ValueTrend,
        /// The account's tier (a score per tier, e.g. `strategic`).
        Tier,
        /// The account's segment (a score per segment).
        Segment,
        /// A custom attribute: a curve over numbers (and days since a date), or a score per
        /// value for booleans (`true`/`false`), enumerations and text.
        Attribute,
    }
);

mirror_enum!(
    /// What kind of touchpoint an interaction was.
    InteractionKind => InteractionKind {
        /// A meeting.
        Meeting,
        /// A phone or video call.
        Call,
        /// An email exchange.
        Email,
        /// A quarterly business review.
        Qbr,
        /// A business review with the client's executives.
        ExecutiveBusinessReview,
        /// An informal check-in.
        CheckIn,
        /// An escalation by or to the client.
        Escalation,
        /// An internal note about the account.
        Note,
        /// A purchase or order placed by the client (e.g. a row of a transaction export).
        Order,
    }
);

mirror_enum!(
    /// The type of a custom attribute's values.
    AttributeKind => AttributeKind {
        /// Free text (one line, at most 500 characters).
        Text,
        /// A finite number.
        Number,
        /// True or false.
        Boolean,
        /// A calendar day.
        Date,
        /// One of the definition's options.
        Enumeration,
    }
);

mirror_enum!(
    /// Who started an interaction.
    Direction => Direction {
        /// The client reached out.
        Inbound,
        /// We reached out.
        Outbound,
        /// Internal only (e.g. a note).
        Internal,
    }
);

/// Maps a list of API enum values to domain values.
///
/// Repeats are dropped, so a list of any length reaches the database as at most one value per
/// variant (a filter with 32,766 tiers once ran out of SQL parameters).
pub fn domain_list<A: Copy + PartialEq + Into<D>, D>(v: Option<Vec<A>>) -> Option<Vec<D>> {
    v.map(|v| {
        let mut distinct: Vec<A> = Vec::new();
        for a in v {
            if !distinct.contains(&a) {
                distinct.push(a);
            }
        }
        distinct.into_iter().map(Into::into).collect()
    })
}

mirror_enum!(
    /// The band a health score falls in.
    HealthBand => HealthBand {
        /// Healthy.
        Good,
        /// Worth a closer look.
        Watch,
        /// At risk.
        Poor,
    }
);

mirror_enum!(
    /// What a metric measures, which decides the values it accepts.
    MetricUnit => MetricUnit {
        /// A count: not negative.
        Count,
        /// A percentage: 0 to 100.
        Percent,
        /// A ratio: 0 to 1.
        Ratio,
        /// A duration in seconds: not negative.
        Seconds,
        /// Any finite number.
        Number,
    }
);

mirror_enum!(
    /// Whether more of a metric is good news or bad news.
    MetricDirection => MetricDirection {
        /// More is better (e.g. active users).
        HigherIsBetter,
        /// Less is better (e.g. error rate).
        LowerIsBetter,
    }
);

mirror_enum!(
    /// How a metric's observations combine over a window.
    MetricAggregation => MetricAggregation {
        /// Added up (compared as a daily rate).
        Sum,
        /// Averaged.
        Average,
        /// The highest.
        Max,
        /// The latest.
        Last,
    }
);

mirror_enum!(
    /// Urgency of a support ticket.
    TicketPriority => TicketPriority {
        /// Least urgent: little effect on the client's work.
        Low,
        /// The usual urgency.
        Normal,
        /// Urgent: the client's work is seriously hampered.
        High,
        /// Critical: business stopped.
        Critical,
    }
);

mirror_enum!(
    /// Where a support ticket is in its life.
    TicketStatus => TicketStatus {
        /// Waiting for the support team.
        Open,
        /// Waiting for the client or a third party.
        Pending,
        /// Solved by support.
        Resolved,
        /// Finished: no further work expected.
        Closed,
    }
);

mirror_enum!(
    /// Where an invoice is in its life.
    InvoiceStatus => InvoiceStatus {
        /// Not paid yet.
        Open,
        /// Paid (see `paidAt`).
        Paid,
        /// Cancelled: nothing is owed.
        Void,
    }
);

mirror_enum!(
    /// Which survey a response answers.
    SurveyKind => SurveyKind {
        /// Net Promoter Score, 0-10.
        Nps,
        /// Customer satisfaction, 1-5.
        Csat,
    }
);

mirror_enum!(
    /// What kind of harm a risk threatens.
    RiskCategory => RiskCategory {
        /// Misalignment with the client's direction, M&A, market shifts.
        Strategic,
        /// Service delivery, product performance, support responsiveness.
        Operational,
        /// Budget cuts, payment delays, the client's financial health.
        Financial,
        /// Stakeholder changes, lost champion, no executive sponsor, the client going quiet.
        Relationship,
        /// A competitor courting the client.
        Competitive,
    }
);

mirror_enum!(
    /// Where a risk is in its lifecycle: IDENTIFIED -> VALIDATED -> MITIGATING -> RESOLVED or
    /// MATERIALIZED; DISMISSED for a false alarm.
    RiskStatus => RiskStatus {
        /// Raised, not yet looked at.
        Identified,
        /// Confirmed and prioritised by a person.
        Validated,
        /// An action plan is under way.
        Mitigating,
        /// Mitigated: the danger passed.
        Resolved,
        /// It happened: the account or revenue was lost.
        Materialized,
        /// A false alarm.
        Dismissed,
    }
);

mirror_enum!(
    /// Who raised a risk.
    RiskSource => RiskSource {
        /// A risk rule's finding.
        Rule,
        /// A person.
        Manual,
    }
);

mirror_enum!(
    /// What happened to a risk.
    RiskEventKind => RiskEventKind {
        /// Raised by a rule or a person.
        Raised,
        /// Moved between lifecycle states.
        Transition,
        /// Its owner changed.
        Assigned,
        /// Impact or likelihood assessed by a person.
        Assessed,
        /// Its rule stopped firing.
        Cleared,
        /// Its rule fired again after clearing.
        Recurred,
        /// A playbook was applied to it (an action plan was made).
        PlanApplied,
    }
);

mirror_enum!(
    /// What started a rule evaluation run.
    RuleTrigger => RuleTrigger {
        /// New signals or changed account data.
        Signals,
        /// Someone asked for it.
        OnDemand,
        /// The scheduled sweep of the whole organisation.
        Sweep,
    }
);

mirror_enum!(
    /// Who a playbook step is for. The first three resolve to a person when the playbook is
    /// applied; the others are assigned by whoever applies it.
    PlaybookRole => PlaybookRole {
        /// The account's account manager.
        AccountManager,
        /// The account's sales owner.
        SalesOwner,
        /// The risk's owner (the person applying the playbook when the risk has none).
        RiskOwner,
        /// The lead of your support team, assigned by whoever applies the playbook.
        SupportLead,
        /// Someone in your finance team, assigned by whoever applies the playbook.
        Finance,
        /// An executive of your organisation.
        Executive,
    }
);

mirror_enum!(
    /// Where an action of a plan is.
    ActionStatus => ActionStatus {
        /// To do.
        Open,
        /// Carried out.
        Done,
        /// No longer needed.
        Cancelled,
    }
);

mirror_enum!(
    /// Who an update about a risk is for.
    UpdateAudience => UpdateAudience {
        /// The account team and other internal stakeholders.
        Internal,
        /// The client.
        Client,
    }
);

mirror_enum!(
    /// How an update was given.
    UpdateChannel => UpdateChannel {
        /// By email.
        Email,
        /// By phone or video call.
        Call,
        /// In a meeting.
        Meeting,
        /// By chat.
        Chat,
        /// Through a client portal.
        Portal,
        /// Some other way.
        Other,
    }
);

mirror_enum!(
    /// How a risk or an account ended.
    PostMortemOutcome => PostMortemOutcome {
        /// The risk was resolved: the account and its revenue were kept.
        Mitigated,
        /// The risk materialized or the account churned.
        Lost,
    }
);

mirror_enum!(
    /// The underlying cause a post-mortem found.
    RootCause => RootCause {
        /// The product lacks something the client needs.
        ProductGap,
        /// Defects, outages, performance.
        ProductQuality,
        /// How the service was delivered (projects, consulting, account management).
        ServiceDelivery,
        /// Support responsiveness or quality.
        Support,
        /// The client never fully adopted the product.
        Onboarding,
        /// Stakeholders, champions, executive access.
        Relationship,
        /// Price or commercial terms.
        Pricing,
        /// A competitor won the client.
        Competition,
        /// The client's budget or financial health.
        ClientBudget,
        /// The client's direction changed (M&A, new strategy).
        ClientStrategy,
        /// Something else.
        Other,
    }
);

mirror_enum!(
    /// The team a lesson is routed to.
    FeedbackTeam => FeedbackTeam {
        /// Product management and engineering.
        Product,
        /// Service delivery: projects, consulting and account management.
        ServiceDelivery,
        /// The support team: tickets and responsiveness.
        Support,
        /// Marketing: positioning and messaging.
        Marketing,
        /// Sales: what was sold and promised.
        Sales,
        /// Finance: invoicing, pricing and payment terms.
        Finance,
    }
);

mirror_enum!(
    /// Where a feedback item is.
    FeedbackStatus => FeedbackStatus {
        /// Not yet looked at.
        Open,
        /// Being worked on.
        InProgress,
        /// Acted on.
        Done,
        /// Considered and not acted on.
        Declined,
    }
);
