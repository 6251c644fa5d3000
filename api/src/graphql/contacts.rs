//! Contacts (stakeholders at a client): the object, listing and mutations.

use async_graphql::connection::{Connection, EmptyFields};
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};
use bellwether_domain::contacts::{ContactFilter as DomainFilter, ContactPatch, NewContact};
use bellwether_domain::{self as d, AccountId, ContactId, contacts};
use chrono::{DateTime, Utc};

use super::accounts::Account;
use super::count::TotalCount;
use super::loaders::load_error;
use super::scalars::{ContactLevel, ContactRole, Date, Sentiment, domain_list};
use super::support::{GqlResult, Kind, connection, global_id, input_id, internal, outcome, patch, payload, request};
use super::users::TargetInput;

#[derive(Clone)]
pub struct Contact(pub d::Contact);

/// A stakeholder at a client account.
#[Object]
impl Contact {
    /// Opaque global id: pass it to `node(id:)` or wherever an input asks for this object.
    pub async fn id(&self) -> ID {
        global_id(Kind::Contact, self.0.id.0)
    }
    /// The account this person works at.
    async fn account(&self, ctx: &Context<'_>) -> async_graphql::Result<Account> {
        request(ctx).loader.load_one(self.0.account).await.map_err(load_error)?.map(Account).ok_or_else(internal)
    }
    /// The person's full name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Their job title at the client, e.g. `Head of Procurement`.
    async fn title(&self) -> Option<&str> {
        self.0.title.as_deref()
    }
    /// Their email address, as entered.
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    /// Their phone number, as entered.
    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }
    /// How senior they are at the client.
    async fn level(&self) -> ContactLevel {
        self.0.level.into()
    }
    /// The part they play in the relationship.
    async fn role(&self) -> ContactRole {
        self.0.role.into()
    }
    /// The account team's read of their attitude.
    async fn sentiment(&self) -> Sentiment {
        self.0.sentiment.into()
    }
    /// Still at the client and engaged.
    async fn active(&self) -> bool {
        self.0.active
    }
    /// When they left the client, if they did.
    async fn departed_on(&self) -> Option<Date> {
        self.0.departed_on.map(Date)
    }
    /// When the contact was archived (entered by mistake).
    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.0.archived_at
    }
    /// Increases with every change; pass it as `expectedVersion` to update safely.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When the contact was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When the contact last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// Conditions on contacts; all given must hold.
#[derive(InputObject, Default)]
pub struct ContactFilter {
    /// Only these levels.
    pub levels: Option<Vec<ContactLevel>>,
    /// Only these roles.
    pub roles: Option<Vec<ContactRole>>,
    /// Only active (true) or departed (false) contacts.
    pub active: Option<bool>,
    /// Include archived contacts (default false).
    #[graphql(default)]
    pub include_archived: bool,
}

pub async fn list(
    ctx: &Context<'_>,
    account: AccountId,
    filter: Option<ContactFilter>,
    page: d::PageRequest,
) -> async_graphql::Result<Connection<String, Contact, TotalCount, EmptyFields>> {
    let r = request(ctx);
    let f = filter.unwrap_or_default();
    let f = DomainFilter {
        levels: domain_list(f.levels),
        roles: domain_list(f.roles),
        active: f.active,
        include_archived: f.include_archived,
    };
    let page = contacts::list(&r.db, r.actor.organisation, account, &f, &page).await.gql()?;
    Ok(connection(page, TotalCount::Contacts(account, f), Contact))
}

payload!(
    /// Result of a contact mutation.
    ContactPayload { contact: Contact }
);

/// A stakeholder at a client account to add.
#[derive(InputObject)]
pub struct CreateContactInput {
    /// The account they work at.
    pub account_id: ID,
    /// The person's full name.
    pub name: String,
    /// Their job title at the client.
    pub title: Option<String>,
    /// Their email address.
    pub email: Option<String>,
    /// Their phone number.
    pub phone: Option<String>,
    /// How senior they are at the client.
    pub level: ContactLevel,
    /// The part they play.
    pub role: ContactRole,
    /// The team's read of their attitude (default UNKNOWN).
    pub sentiment: Option<Sentiment>,
    /// Still engaged (default true, false when `departedOn` is given).
    pub active: Option<bool>,
    /// When they left the client.
    pub departed_on: Option<Date>,
    /// Retrying with the same key returns the first result instead of creating a duplicate.
    pub idempotency_key: Option<String>,
}

/// Changes to a contact. Omitted fields stay as they are; `null` clears a nullable field.
#[derive(InputObject)]
pub struct UpdateContactInput {
    /// The contact to change.
    pub id: ID,
    /// The person's full name from now on.
    pub name: Option<String>,
    /// Their job title; `null` clears it.
    pub title: MaybeUndefined<String>,
    /// Their email address; `null` clears it.
    pub email: MaybeUndefined<String>,
    /// Their phone number; `null` clears it.
    pub phone: MaybeUndefined<String>,
    /// How senior they are at the client from now on.
    pub level: Option<ContactLevel>,
    /// The part they play in the relationship from now on.
    pub role: Option<ContactRole>,
    /// The account team's read of their attitude from now on.
    pub sentiment: Option<Sentiment>,
    /// Whether they are still at the client and engaged.
    pub active: Option<bool>,
    /// When they left the client; setting it makes the contact inactive, `null` clears it.
    pub departed_on: MaybeUndefined<Date>,
    /// Fail with a CONFLICT user error unless the contact still has this version.
    pub expected_version: Option<i32>,
}

#[derive(Default)]
pub struct ContactMutation;

#[Object]
impl ContactMutation {
    /// Adds a stakeholder to an account you may write.
    async fn create_contact(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The stakeholder to add and the account they work at.")] input: CreateContactInput,
    ) -> async_graphql::Result<ContactPayload> {
        let r = request(ctx);
        let result = async {
            let new = NewContact {
                account: AccountId(input_id(&input.account_id, Kind::Account, &["accountId"])?),
                name: input.name,
                title: input.title,
                email: input.email,
                phone: input.phone,
                level: input.level.into(),
                role: input.role.into(),
                sentiment: input.sentiment.map(Into::into),
                active: input.active,
                departed_on: input.departed_on.map(|d| d.0),
                idempotency_key: input.idempotency_key,
            };
            contacts::create(&r.db, &r.actor, new).await
        }
        .await;
        super::signals::wake(ctx);
        outcome(result, Contact).map(Into::into)
    }

    /// Changes a stakeholder's details, or records that they left (`departedOn`).
    async fn update_contact(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The contact and the fields to change; omitted fields stay as they are, `null` clears one.")]
        input: UpdateContactInput,
    ) -> async_graphql::Result<ContactPayload> {
        let r = request(ctx);
        let result = async {
            let id = ContactId(input_id(&input.id, Kind::Contact, &["id"])?);
            let p = ContactPatch {
                name: input.name,
                title: patch(input.title, Ok)?,
                email: patch(input.email, Ok)?,
                phone: patch(input.phone, Ok)?,
                level: input.level.map(Into::into),
                role: input.role.map(Into::into),
                sentiment: input.sentiment.map(Into::into),
                active: input.active,
                departed_on: patch(input.departed_on, |d| Ok(d.0))?,
                expected_version: input.expected_version,
            };
            contacts::update(&r.db, &r.actor, id, p).await
        }
        .await;
        // A departed champion or sponsor is a warning sign: let the worker re-evaluate now.
        super::signals::wake(ctx);
        outcome(result, Contact).map(Into::into)
    }

    /// Archives a contact entered by mistake. For someone who left, set `departedOn` instead.
    async fn archive_contact(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The contact entered by mistake.")] input: TargetInput,
    ) -> async_graphql::Result<ContactPayload> {
        let r = request(ctx);
        let result = async {
            let id = ContactId(input_id(&input.id, Kind::Contact, &["id"])?);
            contacts::archive(&r.db, &r.actor, id, input.expected_version).await
        }
        .await;
        outcome(result, Contact).map(Into::into)
    }
}
