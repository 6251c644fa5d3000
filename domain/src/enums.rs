//! Closed vocabularies of the domain, stored as lowercase strings.

/// Declares an enum with a stable string form used in storage.
macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vdoc])* $variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }

            /// Parses the storage form; unknown values are an error, never a default.
            pub fn parse(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)*
                    other => Err(format!("unknown {} '{}'", stringify!($name), other)),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use string_enum;

string_enum!(
    /// What a user may do in their organisation.
    Role {
        /// Everything, including managing users.
        Admin = "admin",
        /// Writes everything in the organisation except users.
        Manager = "manager",
        /// Writes only the accounts they manage (and their contacts and interactions).
        AccountManager = "account_manager",
        /// Writes only the accounts they are sales owner of.
        Sales = "sales",
        /// Reads only; also the role for read-only integrations.
        Viewer = "viewer",
    }
);

string_enum!(
    /// How important an account is to the organisation.
    Tier { Strategic = "strategic", Key = "key", Growth = "growth", Standard = "standard" }
);

string_enum!(
    /// Where an account is in its life with the organisation.
    LifecycleStage {
        Onboarding = "onboarding",
        Adoption = "adoption",
        Expansion = "expansion",
        Mature = "mature",
        Renewal = "renewal",
    }
);

string_enum!(
    /// Whether the account is still a customer.
    AccountStatus { Active = "active", Churned = "churned" }
);

string_enum!(
    /// Seniority of a stakeholder at the client.
    ContactLevel { Executive = "executive", Management = "management", Operational = "operational" }
);

string_enum!(
    /// The part a stakeholder plays in the relationship.
    ContactRole {
        DecisionMaker = "decision_maker",
        Champion = "champion",
        Influencer = "influencer",
        ExecutiveSponsor = "executive_sponsor",
        User = "user",
        Blocker = "blocker",
    }
);

string_enum!(
    /// The account team's read of a stakeholder's attitude.
    Sentiment { Positive = "positive", Neutral = "neutral", Negative = "negative", Unknown = "unknown" }
);

string_enum!(
    /// What kind of touchpoint an interaction was.
    InteractionKind {
        Meeting = "meeting",
        Call = "call",
        Email = "email",
        Qbr = "qbr",
        ExecutiveBusinessReview = "executive_business_review",
        CheckIn = "check_in",
        Escalation = "escalation",
        Note = "note",
        /// A purchase or order placed by the client (transaction exports).
        Order = "order",
    }
);

string_enum!(
    /// Who started the interaction.
    Direction { Inbound = "inbound", Outbound = "outbound", Internal = "internal" }
);

string_enum!(
    /// The health band an account's score falls in.
    HealthBand { Good = "good", Watch = "watch", Poor = "poor" }
);

string_enum!(
    /// What a metric measures, which decides the values it accepts.
    MetricUnit {
        /// A count of things: a non-negative number.
        Count = "count",
        /// A percentage: 0 to 100.
        Percent = "percent",
        /// A ratio: 0 to 1.
        Ratio = "ratio",
        /// A duration in seconds: non-negative.
        Seconds = "seconds",
        /// Any finite number.
        Number = "number",
    }
);

string_enum!(
    /// Whether more of a metric is good news or bad news.
    MetricDirection { HigherIsBetter = "higher_is_better", LowerIsBetter = "lower_is_better" }
);

string_enum!(
    /// How observations of a metric combine over a window.
    MetricAggregation { Sum = "sum", Average = "average", Max = "max", Last = "last" }
);

string_enum!(
    /// Urgency of a support ticket.
    TicketPriority { Low = "low", Normal = "normal", High = "high", Critical = "critical" }
);

string_enum!(
    /// Where a support ticket is in its life.
    TicketStatus { Open = "open", Pending = "pending", Resolved = "resolved", Closed = "closed" }
);

string_enum!(
    /// Where an invoice is in its life.
    InvoiceStatus { Open = "open", Paid = "paid", Void = "void" }
);

string_enum!(
    /// Which survey a response answers.
    SurveyKind { Nps = "nps", Csat = "csat" }
);

string_enum!(
    /// What kind of harm a risk threatens.
    RiskCategory {
        /// Misalignment with the client's direction, M&A, market shifts.
        Strategic = "strategic",
        /// Service delivery, product performance, support responsiveness.
        Operational = "operational",
        /// Budget cuts, payment delays, the client's financial health.
        Financial = "financial",
        /// Stakeholder changes, lost champion, no executive sponsor, the client going quiet.
        Relationship = "relationship",
        /// A competitor courting the client.
        Competitive = "competitive",
    }
);

string_enum!(
    /// Where a risk is in its lifecycle.
    RiskStatus {
        Identified = "identified",
        Validated = "validated",
        Mitigating = "mitigating",
        Resolved = "resolved",
        Materialized = "materialized",
        Dismissed = "dismissed",
    }
);

string_enum!(
    /// Who raised a risk.
    RiskSource { Rule = "rule", Manual = "manual" }
);

string_enum!(
    /// What happened to a risk (its audit trail).
    RiskEventKind {
        /// Raised by a rule or a person.
        Raised = "raised",
        /// Moved between lifecycle states.
        Transition = "transition",
        /// Its owner changed.
        Assigned = "assigned",
        /// Impact or likelihood assessed by a person.
        Assessed = "assessed",
        /// Its rule stopped firing.
        Cleared = "cleared",
        /// Its rule fired again after clearing.
        Recurred = "recurred",
        /// A playbook was applied to it (an action plan was made).
        PlanApplied = "plan_applied",
    }
);

string_enum!(
    /// What started a rule evaluation.
    RuleTrigger { Signals = "signals", OnDemand = "on_demand", Sweep = "sweep" }
);

/// Reads a stored enum column; a value outside the vocabulary is data corruption.
pub(crate) fn stored<T>(parsed: Result<T, String>) -> crate::Result<T> {
    parsed.map_err(|e| crate::Error::Internal(e.into()))
}

string_enum!(
    /// Whether an organisation's rule plugin runs.
    PluginStatus {
        /// Runs with the other rules.
        Enabled = "enabled",
        /// Switched off by an admin.
        Disabled = "disabled",
        /// Switched off by the circuit breaker after repeated failures; an admin re-enables it.
        Tripped = "tripped",
    }
);

string_enum!(
    /// Who a playbook step is for; the first three resolve to a person of the account or risk.
    PlaybookRole {
        /// The account's account manager.
        AccountManager = "account_manager",
        /// The account's sales owner.
        SalesOwner = "sales_owner",
        /// The risk's owner.
        RiskOwner = "risk_owner",
        /// The support lead (assigned when the playbook is applied).
        SupportLead = "support_lead",
        /// Finance (assigned when the playbook is applied).
        Finance = "finance",
        /// An executive of your organisation (assigned when the playbook is applied).
        Executive = "executive",
    }
);

string_enum!(
    /// Where an action of a plan is.
    ActionStatus { Open = "open", Done = "done", Cancelled = "cancelled" }
);

string_enum!(
    /// Who an update about a risk is for.
    UpdateAudience { Internal = "internal", Client = "client" }
);

string_enum!(
    /// How an update was given.
    UpdateChannel {
        Email = "email",
        Call = "call",
        Meeting = "meeting",
        Chat = "chat",
        Portal = "portal",
        Other = "other",
    }
);

string_enum!(
    /// How a risk or an account ended.
    PostMortemOutcome {
        /// The risk was resolved: the account and its revenue were kept.
        Mitigated = "mitigated",
        /// The risk materialized or the account churned.
        Lost = "lost",
    }
);

string_enum!(
    /// The underlying cause a post-mortem found.
    RootCause {
        ProductGap = "product_gap",
        ProductQuality = "product_quality",
        ServiceDelivery = "service_delivery",
        Support = "support",
        Onboarding = "onboarding",
        Relationship = "relationship",
        Pricing = "pricing",
        Competition = "competition",
        ClientBudget = "client_budget",
        ClientStrategy = "client_strategy",
        Other = "other",
    }
);

string_enum!(
    /// The team a lesson is routed to.
    FeedbackTeam {
        Product = "product",
        ServiceDelivery = "service_delivery",
        Support = "support",
        Marketing = "marketing",
        Sales = "sales",
        Finance = "finance",
    }
);

string_enum!(
    /// Where a feedback item is.
    FeedbackStatus { Open = "open", InProgress = "in_progress", Done = "done", Declined = "declined" }
);
