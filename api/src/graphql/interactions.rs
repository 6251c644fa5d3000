//! Interactions (the account's history of touchpoints): the object, listing and mutations.

use async_graphql::connection::{Connection, EmptyFields};
use async_graphql::{Context, ID, InputObject, Object};
use bellwether_domain::interactions::{InteractionFilter as DomainFilter, InteractionPatch, NewInteraction};
use bellwether_domain::{self as d, AccountId, ContactId, Error, InteractionId, UserId, interactions};
use chrono::{DateTime, Utc};

use super::accounts::Account;
use super::contacts::Contact;
use super::count::TotalCount;
use super::loaders::{ParticipantsOf, load_error};
use super::scalars::{Direction, InteractionKind, domain_list};
use super::support::{GqlResult, Kind, connection, global_id, input_id, internal, outcome, payload, request};
use super::users::{TargetInput, User};

#[derive(Clone)]
pub struct Interaction(pub d::Interaction);

/// A touchpoint with a client account.
#[Object]
impl Interaction {
    /// Opaque global id: pass it to `node(id:)` or wherever an input asks for this object.
    pub async fn id(&self) -> ID {
        global_id(Kind::Interaction, self.0.id.0)
    }
    /// The account it was with.
    async fn account(&self, ctx: &Context<'_>) -> async_graphql::Result<Account> {
        request(ctx).loader.load_one(self.0.account).await.map_err(load_error)?.map(Account).ok_or_else(internal)
    }
    /// What kind of touchpoint.
    async fn kind(&self) -> InteractionKind {
        self.0.kind.into()
    }
    /// Who started it.
    async fn direction(&self) -> Direction {
        self.0.direction.into()
    }
    /// When it happened.
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at
    }
    /// What happened.
    async fn summary(&self) -> &str {
        &self.0.summary
    }
    /// The client's people who took part.
    async fn contacts(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Contact>> {
        let loader = &request(ctx).loader;
        let p = loader.load_one(ParticipantsOf(self.0.id)).await.map_err(load_error)?.unwrap_or_default();
        let found = loader.load_many(p.contacts.iter().copied()).await.map_err(load_error)?;
        Ok(p.contacts.iter().filter_map(|id| found.get(id).cloned().map(Contact)).collect())
    }
    /// Your people who took part.
    async fn users(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<User>> {
        let loader = &request(ctx).loader;
        let p = loader.load_one(ParticipantsOf(self.0.id)).await.map_err(load_error)?.unwrap_or_default();
        let found = loader.load_many(p.users.iter().copied()).await.map_err(load_error)?;
        Ok(p.users.iter().filter_map(|id| found.get(id).cloned().map(User)).collect())
    }
    /// When it was archived (logged by mistake).
    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.0.archived_at
    }
    /// Increases with every change; pass it as `expectedVersion` to update safely.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When it was logged.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// Conditions on interactions; all given must hold.
#[derive(InputObject, Default)]
pub struct InteractionFilter {
    /// Only these kinds.
    pub kinds: Option<Vec<InteractionKind>>,
    /// Only those that happened at or after this time.
    pub occurred_from: Option<DateTime<Utc>>,
    /// Only those that happened before this time.
    pub occurred_before: Option<DateTime<Utc>>,
    /// Include archived interactions (default false).
    #[graphql(default)]
    pub include_archived: bool,
}

pub async fn list(
    ctx: &Context<'_>,
    account: AccountId,
    filter: Option<InteractionFilter>,
    page: d::PageRequest,
) -> async_graphql::Result<Connection<String, Interaction, TotalCount, EmptyFields>> {
    let r = request(ctx);
    let f = filter.unwrap_or_default();
    let f = DomainFilter {
        kinds: domain_list(f.kinds),
        occurred_from: f.occurred_from,
        occurred_before: f.occurred_before,
        include_archived: f.include_archived,
    };
    let page = interactions::list(&r.db, r.actor.organisation, account, &f, &page).await.gql()?;
    Ok(connection(page, TotalCount::Interactions(account, f), Interaction))
}

payload!(
    /// Result of an interaction mutation.
    InteractionPayload { interaction: Interaction }
);

/// A touchpoint to log.
#[derive(InputObject)]
pub struct LogInteractionInput {
    /// The account it was with.
    pub account_id: ID,
    /// What kind of touchpoint.
    pub kind: InteractionKind,
    /// Who started it (default OUTBOUND).
    pub direction: Option<Direction>,
    /// When it happened (at most a day ahead).
    pub occurred_at: DateTime<Utc>,
    /// What happened.
    pub summary: String,
    /// The client's people who took part (contacts of this account).
    #[graphql(default)]
    pub contact_ids: Vec<ID>,
    /// Your people who took part.
    #[graphql(default)]
    pub user_ids: Vec<ID>,
    /// Retrying with the same key returns the first result instead of logging a duplicate.
    pub idempotency_key: Option<String>,
}

/// Changes to an interaction. Omitted fields stay; participant lists, when given, replace the old ones.
#[derive(InputObject)]
pub struct UpdateInteractionInput {
    /// The interaction to change.
    pub id: ID,
    /// What kind of touchpoint it was.
    pub kind: Option<InteractionKind>,
    /// Who started it.
    pub direction: Option<Direction>,
    /// When it happened (at most a day ahead).
    pub occurred_at: Option<DateTime<Utc>>,
    /// What happened, replacing the old summary.
    pub summary: Option<String>,
    /// New list of client participants.
    pub contact_ids: Option<Vec<ID>>,
    /// New list of your participants.
    pub user_ids: Option<Vec<ID>>,
    /// Fail with a CONFLICT user error unless the interaction still has this version.
    pub expected_version: Option<i32>,
}

fn ids<T>(ids: &[ID], kind: Kind, field: &str, wrap: fn(uuid::Uuid) -> T) -> Result<Vec<T>, Error> {
    ids.iter().enumerate().map(|(i, id)| input_id(id, kind, &[field, &i.to_string()]).map(wrap)).collect()
}

#[derive(Default)]
pub struct InteractionMutation;

#[Object]
impl InteractionMutation {
    /// Logs a touchpoint with an account you may write.
    async fn log_interaction(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The touchpoint: its account, kind, time and summary, and who took part.")]
        input: LogInteractionInput,
    ) -> async_graphql::Result<InteractionPayload> {
        let r = request(ctx);
        let result = async {
            let new = NewInteraction {
                account: AccountId(input_id(&input.account_id, Kind::Account, &["accountId"])?),
                kind: input.kind.into(),
                direction: input.direction.map(Into::into),
                occurred_at: input.occurred_at,
                summary: input.summary,
                contacts: ids(&input.contact_ids, Kind::Contact, "contactIds", ContactId)?,
                users: ids(&input.user_ids, Kind::User, "userIds", UserId)?,
                idempotency_key: input.idempotency_key,
            };
            interactions::create(&r.db, &r.actor, new).await
        }
        .await;
        super::signals::wake(ctx);
        outcome(result, Interaction).map(Into::into)
    }

    /// Changes a logged touchpoint.
    async fn update_interaction(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The interaction and the fields to change; a participant list given replaces the old one.")]
        input: UpdateInteractionInput,
    ) -> async_graphql::Result<InteractionPayload> {
        let r = request(ctx);
        let result = async {
            let id = InteractionId(input_id(&input.id, Kind::Interaction, &["id"])?);
            let p = InteractionPatch {
                kind: input.kind.map(Into::into),
                direction: input.direction.map(Into::into),
                occurred_at: input.occurred_at,
                summary: input.summary,
                contacts: input
                    .contact_ids
                    .as_deref()
                    .map(|v| ids(v, Kind::Contact, "contactIds", ContactId))
                    .transpose()?,
                users: input.user_ids.as_deref().map(|v| ids(v, Kind::User, "userIds", UserId)).transpose()?,
                expected_version: input.expected_version,
            };
            interactions::update(&r.db, &r.actor, id, p).await
        }
        .await;
        outcome(result, Interaction).map(Into::into)
    }

    /// Archives a touchpoint logged by mistake.
    async fn archive_interaction(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The interaction logged by mistake.")] input: TargetInput,
    ) -> async_graphql::Result<InteractionPayload> {
        let r = request(ctx);
        let result = async {
            let id = InteractionId(input_id(&input.id, Kind::Interaction, &["id"])?);
            interactions::archive(&r.db, &r.actor, id, input.expected_version).await
        }
        .await;
        outcome(result, Interaction).map(Into::into)
    }
}
