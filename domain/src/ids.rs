//! Typed identifiers. A `UserId` can never be passed where an `AccountId` is expected.

use uuid::Uuid;

macro_rules! typed_id {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new, time-ordered identifier (UUIDv7), so id order follows creation order.
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

typed_id!(
    /// An organisation (tenant).
    OrganisationId,
    /// A user of an organisation.
    UserId,
    /// A client account.
    AccountId,
    /// A stakeholder at a client account.
    ContactId,
    /// A logged interaction with a client account.
    InteractionId,
    /// A metric an organisation tracks.
    MetricId,
    /// A support ticket.
    TicketId,
    /// An invoice.
    InvoiceId,
    /// An NPS or CSAT survey response.
    SurveyResponseId,
    /// An account manager's relationship assessment.
    AssessmentId,
    /// A change of contract value or renewal date.
    ContractChangeId,
    /// A health scorecard.
    ScorecardId,
    /// One computed health score.
    HealthScoreId,
    /// A risk to an account.
    RiskId,
    /// One entry of a risk's audit trail.
    RiskEventId,
    /// One evaluation run of the risk rules.
    RuleRunId,
    /// An organisation's rule plugin.
    PluginId,
    /// One uploaded version of a rule plugin.
    PluginVersionId,
    /// A playbook: a template of steps answering a kind of risk.
    PlaybookId,
    /// One immutable version of a playbook.
    PlaybookVersionId,
    /// An action plan made from a playbook for one risk.
    ActionPlanId,
    /// One action of an action plan.
    PlanActionId,
    /// One entry of a risk's communication log.
    RiskUpdateId,
    /// A post-mortem of a closed risk or a churn.
    PostMortemId,
    /// A lesson routed to a team by a post-mortem.
    FeedbackItemId,
);
