//! Batch loaders, one per relation, all scoped to the requesting organisation: a key can only
//! ever resolve inside the tenant the loader was built for.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use bellwether_domain::health::{self, Scorecard};
use bellwether_domain::interactions::Participants;
use bellwether_domain::risks::{self, Risk, updates};
use bellwether_domain::{
    Account, AccountId, ActionPlanId, Contact, ContactId, Db, Error, Interaction, InteractionId, OrganisationId,
    PlaybookId, PostMortemId, RiskId, ScorecardId, UpdateAudience, User, UserId, accounts, contacts, interactions,
    plans, playbooks, post_mortems, users,
};
use chrono::{DateTime, NaiveDate, Utc};

/// Loads rows of one organisation by id, in batches.
pub struct TenantLoader {
    pub db: Db,
    pub organisation: OrganisationId,
    /// The organisation's today for the request (what "overdue" is measured against).
    pub today: NaiveDate,
}

/// Key for the participants of an interaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ParticipantsOf(pub InteractionId);

/// Key for an account's current health with a scorecard (`None`: the default one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HealthOf(pub AccountId, pub Option<ScorecardId>);

/// Key for the number of active accounts a user manages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ManagedCount(pub UserId);

/// Key for the number of overdue plan actions of a risk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OverdueOf(pub RiskId);

/// Key for the time of a risk's latest update for an audience.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LastUpdateOf(pub RiskId, pub UpdateAudience);

/// Key for the organisation's playbooks (one load per request).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AllPlaybooks;

/// Key for how well a playbook worked (all playbooks are computed in one load).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EffectivenessOf(pub PlaybookId);

/// Key for the action plans of a risk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PlansOf(pub RiskId);

/// Key for the actions of a plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ActionsOf(pub ActionPlanId);

/// Key for the post-mortem of a risk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PostMortemOf(pub RiskId);

/// Key for the feedback items of a post-mortem.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FeedbackOf(pub PostMortemId);

/// Key for an account's custom attribute values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AttributesOf(pub AccountId);

type Shared = Arc<Error>;

impl Loader<AttributesOf> for TenantLoader {
    type Value = std::collections::BTreeMap<String, bellwether_domain::AttributeValue>;
    type Error = Shared;
    async fn load(&self, keys: &[AttributesOf]) -> Result<HashMap<AttributesOf, Self::Value>, Shared> {
        let ids: Vec<_> = keys.iter().map(|k| k.0).collect();
        let found =
            bellwether_domain::attributes::for_accounts(&self.db, self.organisation, &ids).await.map_err(Arc::new)?;
        Ok(found.into_iter().map(|(k, v)| (AttributesOf(k), v)).collect())
    }
}

impl Loader<UserId> for TenantLoader {
    type Value = User;
    type Error = Shared;
    async fn load(&self, keys: &[UserId]) -> Result<HashMap<UserId, User>, Shared> {
        users::by_ids(&self.db, self.organisation, keys).await.map_err(Arc::new)
    }
}

impl Loader<AccountId> for TenantLoader {
    type Value = Account;
    type Error = Shared;
    async fn load(&self, keys: &[AccountId]) -> Result<HashMap<AccountId, Account>, Shared> {
        accounts::by_ids(&self.db, self.organisation, keys).await.map_err(Arc::new)
    }
}

impl Loader<ContactId> for TenantLoader {
    type Value = Contact;
    type Error = Shared;
    async fn load(&self, keys: &[ContactId]) -> Result<HashMap<ContactId, Contact>, Shared> {
        contacts::by_ids(&self.db, self.organisation, keys).await.map_err(Arc::new)
    }
}

impl Loader<InteractionId> for TenantLoader {
    type Value = Interaction;
    type Error = Shared;
    async fn load(&self, keys: &[InteractionId]) -> Result<HashMap<InteractionId, Interaction>, Shared> {
        interactions::by_ids(&self.db, self.organisation, keys).await.map_err(Arc::new)
    }
}

impl Loader<ParticipantsOf> for TenantLoader {
    type Value = Participants;
    type Error = Shared;
    async fn load(&self, keys: &[ParticipantsOf]) -> Result<HashMap<ParticipantsOf, Participants>, Shared> {
        let ids: Vec<_> = keys.iter().map(|k| k.0).collect();
        let found = interactions::participants(&self.db, self.organisation, &ids).await.map_err(Arc::new)?;
        Ok(found.into_iter().map(|(k, v)| (ParticipantsOf(k), v)).collect())
    }
}

impl Loader<ManagedCount> for TenantLoader {
    type Value = u64;
    type Error = Shared;
    async fn load(&self, keys: &[ManagedCount]) -> Result<HashMap<ManagedCount, u64>, Shared> {
        let ids: Vec<_> = keys.iter().map(|k| k.0).collect();
        let found = accounts::managed_counts(&self.db, self.organisation, &ids).await.map_err(Arc::new)?;
        Ok(found.into_iter().map(|(k, v)| (ManagedCount(k), v)).collect())
    }
}

impl Loader<ScorecardId> for TenantLoader {
    type Value = Scorecard;
    type Error = Shared;
    async fn load(&self, keys: &[ScorecardId]) -> Result<HashMap<ScorecardId, Scorecard>, Shared> {
        // An organisation has a handful of scorecards: one query for all of them.
        let all = health::scorecards(&self.db, self.organisation).await.map_err(Arc::new)?;
        Ok(all.into_iter().filter(|c| keys.contains(&c.id)).map(|c| (c.id, c)).collect())
    }
}

impl Loader<HealthOf> for TenantLoader {
    type Value = health::HealthScore;
    type Error = Shared;
    async fn load(&self, keys: &[HealthOf]) -> Result<HashMap<HealthOf, health::HealthScore>, Shared> {
        // A list of accounts asking for health: one batch per scorecard, with the dirty ones
        // recomputed together.
        let mut by_card: HashMap<Option<ScorecardId>, Vec<AccountId>> = HashMap::new();
        for k in keys {
            by_card.entry(k.1).or_default().push(k.0);
        }
        let mut out = HashMap::new();
        for (card, accounts) in by_card {
            let found = health::current_many(&self.db, self.organisation, &accounts, card).await.map_err(Arc::new)?;
            out.extend(found.into_iter().map(|(a, h)| (HealthOf(a, card), h)));
        }
        Ok(out)
    }
}

impl Loader<OverdueOf> for TenantLoader {
    type Value = u64;
    type Error = Shared;
    async fn load(&self, keys: &[OverdueOf]) -> Result<HashMap<OverdueOf, u64>, Shared> {
        let ids: Vec<_> = keys.iter().map(|k| k.0).collect();
        let found = plans::overdue_counts(&self.db, self.organisation, self.today, &ids).await.map_err(Arc::new)?;
        Ok(found.into_iter().map(|(k, v)| (OverdueOf(k), v)).collect())
    }
}

impl Loader<LastUpdateOf> for TenantLoader {
    type Value = DateTime<Utc>;
    type Error = Shared;
    async fn load(&self, keys: &[LastUpdateOf]) -> Result<HashMap<LastUpdateOf, DateTime<Utc>>, Shared> {
        let mut out = HashMap::new();
        for audience in [UpdateAudience::Client, UpdateAudience::Internal] {
            let ids: Vec<_> = keys.iter().filter(|k| k.1 == audience).map(|k| k.0).collect();
            if ids.is_empty() {
                continue;
            }
            let found = updates::latest(&self.db, self.organisation, &ids, audience).await.map_err(Arc::new)?;
            out.extend(found.into_iter().map(|(k, v)| (LastUpdateOf(k, audience), v)));
        }
        Ok(out)
    }
}

impl Loader<AllPlaybooks> for TenantLoader {
    type Value = Vec<playbooks::Playbook>;
    type Error = Shared;
    async fn load(&self, _: &[AllPlaybooks]) -> Result<HashMap<AllPlaybooks, Vec<playbooks::Playbook>>, Shared> {
        let all = playbooks::list(&self.db, self.organisation, true).await.map_err(Arc::new)?;
        Ok(HashMap::from([(AllPlaybooks, all)]))
    }
}

impl Loader<EffectivenessOf> for TenantLoader {
    type Value = plans::Effectiveness;
    type Error = Shared;
    async fn load(&self, _: &[EffectivenessOf]) -> Result<HashMap<EffectivenessOf, plans::Effectiveness>, Shared> {
        let all = plans::effectiveness(&self.db, self.organisation, None).await.map_err(Arc::new)?;
        Ok(all.into_iter().map(|e| (EffectivenessOf(e.playbook), e)).collect())
    }
}

impl Loader<PlansOf> for TenantLoader {
    type Value = Vec<plans::ActionPlan>;
    type Error = Shared;
    async fn load(&self, keys: &[PlansOf]) -> Result<HashMap<PlansOf, Vec<plans::ActionPlan>>, Shared> {
        let ids: Vec<_> = keys.iter().map(|k| k.0).collect();
        let found = plans::of_risks(&self.db, self.organisation, &ids).await.map_err(Arc::new)?;
        Ok(found.into_iter().map(|(k, v)| (PlansOf(k), v)).collect())
    }
}

impl Loader<ActionsOf> for TenantLoader {
    type Value = Vec<plans::PlanAction>;
    type Error = Shared;
    async fn load(&self, keys: &[ActionsOf]) -> Result<HashMap<ActionsOf, Vec<plans::PlanAction>>, Shared> {
        let ids: Vec<_> = keys.iter().map(|k| k.0).collect();
        let found = plans::actions_of(&self.db, self.organisation, &ids).await.map_err(Arc::new)?;
        Ok(found.into_iter().map(|(k, v)| (ActionsOf(k), v)).collect())
    }
}

impl Loader<RiskId> for TenantLoader {
    type Value = Risk;
    type Error = Shared;
    async fn load(&self, keys: &[RiskId]) -> Result<HashMap<RiskId, Risk>, Shared> {
        risks::by_ids(&self.db, self.organisation, keys).await.map_err(Arc::new)
    }
}

impl Loader<ActionPlanId> for TenantLoader {
    type Value = plans::ActionPlan;
    type Error = Shared;
    async fn load(&self, keys: &[ActionPlanId]) -> Result<HashMap<ActionPlanId, plans::ActionPlan>, Shared> {
        plans::by_ids(&self.db, self.organisation, keys).await.map_err(Arc::new)
    }
}

impl Loader<PostMortemOf> for TenantLoader {
    type Value = post_mortems::PostMortem;
    type Error = Shared;
    async fn load(&self, keys: &[PostMortemOf]) -> Result<HashMap<PostMortemOf, post_mortems::PostMortem>, Shared> {
        let ids: Vec<_> = keys.iter().map(|k| k.0).collect();
        let found = post_mortems::of_risks(&self.db, self.organisation, &ids).await.map_err(Arc::new)?;
        Ok(found.into_iter().map(|(k, v)| (PostMortemOf(k), v)).collect())
    }
}

impl Loader<FeedbackOf> for TenantLoader {
    type Value = Vec<post_mortems::FeedbackItem>;
    type Error = Shared;
    async fn load(&self, keys: &[FeedbackOf]) -> Result<HashMap<FeedbackOf, Vec<post_mortems::FeedbackItem>>, Shared> {
        let ids: Vec<_> = keys.iter().map(|k| k.0).collect();
        let found = post_mortems::feedback_of(&self.db, self.organisation, &ids).await.map_err(Arc::new)?;
        Ok(found.into_iter().map(|(k, v)| (FeedbackOf(k), v)).collect())
    }
}

/// Maps a loader failure to the client-safe internal error (and logs it).
pub fn load_error(e: Shared) -> async_graphql::Error {
    tracing::error!(error = %e, source = ?std::error::Error::source(&*e), "batch load failed");
    super::support::internal()
}
