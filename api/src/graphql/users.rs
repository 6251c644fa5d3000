//! Users: objects, queries and the admin-only mutations.

use async_graphql::connection::{Connection, EmptyFields};
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};
use bellwether_domain::users::{NewUser, UserFilter as DomainFilter, UserOrder as DomainOrder, UserPatch};
use bellwether_domain::{self as d, UserId, users};
use chrono::{DateTime, Utc};

use super::accounts::{Account, AccountFilter, AccountOrder};
use super::count::TotalCount;
use super::loaders::{ManagedCount, load_error};
use super::scalars::{Role, domain_list};
use super::support::{GqlResult, Kind, global_id, input_id, outcome, page_cost, page_request, patch, payload, request};

#[derive(Clone)]
pub struct User(pub d::User);

/// A person in your organisation who uses Bellwether.
#[Object]
impl User {
    /// Opaque global id: pass it to `node(id:)` or wherever an input asks for this object.
    pub async fn id(&self) -> ID {
        global_id(Kind::User, self.0.id.0)
    }
    /// Sign-in email, unique in the organisation.
    async fn email(&self) -> &str {
        &self.0.email
    }
    /// The name other users see, e.g. as an account's manager.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// What the user may do.
    async fn role(&self) -> Role {
        self.0.role.into()
    }
    /// How many accounts the user can look after, if set.
    async fn capacity(&self) -> Option<i32> {
        self.0.capacity
    }
    /// How many active accounts the user currently manages.
    async fn managed_account_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i32> {
        let n = request(ctx).loader.load_one(ManagedCount(self.0.id)).await.map_err(load_error)?.unwrap_or(0);
        Ok(i32::try_from(n).unwrap_or(i32::MAX))
    }
    /// Accounts this user manages.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn managed_accounts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Further conditions; `accountManagerId` is ignored here.")] filter: Option<AccountFilter>,
        #[graphql(desc = "Ordering (default by name).")] order_by: Option<AccountOrder>,
        #[graphql(desc = "Return the first n items after `after` (1-100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor from a previous page's `pageInfo.endCursor`.")] after: Option<String>,
        #[graphql(desc = "Return the last n items before `before` (1-100).")] last: Option<i32>,
        #[graphql(desc = "Cursor from a previous page's `pageInfo.startCursor`.")] before: Option<String>,
    ) -> async_graphql::Result<Connection<String, Account, TotalCount, EmptyFields>> {
        let mut f = filter.unwrap_or_default().into_domain(request(ctx).today)?;
        f.account_manager = Some(self.0.id);
        super::accounts::list(ctx, f, order_by, page_request(first, after, last, before)?).await
    }
    /// When the user was archived; archived users cannot sign in.
    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.0.archived_at
    }
    /// Increases with every change; pass it as `expectedVersion` to update safely.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When the user was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When the user last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// Conditions on users; all given must hold.
#[derive(InputObject, Default)]
pub struct UserFilter {
    /// Only users with one of these roles.
    pub roles: Option<Vec<Role>>,
    /// Include archived users (default false).
    #[graphql(default)]
    pub include_archived: bool,
}

/// The order users are listed in.
#[derive(async_graphql::Enum, Clone, Copy, PartialEq, Eq)]
pub enum UserOrder {
    /// By name, A to Z.
    Name,
    /// By email, A to Z.
    Email,
}

pub async fn list_users(
    ctx: &Context<'_>,
    filter: Option<UserFilter>,
    order_by: Option<UserOrder>,
    page: d::PageRequest,
) -> async_graphql::Result<Connection<String, User, TotalCount, EmptyFields>> {
    let r = request(ctx);
    let f = filter.unwrap_or_default();
    let f = DomainFilter { roles: domain_list(f.roles), include_archived: f.include_archived };
    let order = match order_by.unwrap_or(UserOrder::Name) {
        UserOrder::Name => DomainOrder::Name,
        UserOrder::Email => DomainOrder::Email,
    };
    let page = users::list(&r.db, r.actor.organisation, &f, order, &page).await.gql()?;
    Ok(super::support::connection(page, TotalCount::Users(f), User))
}

payload!(
    /// Result of a user mutation.
    UserPayload { user: User }
);

/// A person to add to your organisation, with what they may do.
#[derive(InputObject)]
pub struct CreateUserInput {
    /// Sign-in email, unique in the organisation.
    pub email: String,
    /// The name other users will see.
    pub name: String,
    /// What the user may do.
    pub role: Role,
    /// How many accounts the user can look after (0-1000).
    pub capacity: Option<i32>,
}

/// Changes to a user; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateUserInput {
    /// The user to change.
    pub id: ID,
    /// The name other users will see from now on.
    pub name: Option<String>,
    /// What the user may do from now on.
    pub role: Option<Role>,
    /// New capacity; `null` clears it.
    pub capacity: MaybeUndefined<i32>,
    /// Fail with a CONFLICT user error unless the user still has this version.
    pub expected_version: Option<i32>,
}

/// Names one object to act on, optionally at a known version.
#[derive(InputObject)]
pub struct TargetInput {
    /// The id of the object to act on.
    pub id: ID,
    /// Fail with a CONFLICT user error unless the object still has this version.
    pub expected_version: Option<i32>,
}

#[derive(Default)]
pub struct UserMutation;

#[Object]
impl UserMutation {
    /// Adds a user to your organisation. Admins only.
    async fn create_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user to add: sign-in email, name, role and capacity.")] input: CreateUserInput,
    ) -> async_graphql::Result<UserPayload> {
        let r = request(ctx);
        let new = NewUser { email: input.email, name: input.name, role: input.role.into(), capacity: input.capacity };
        outcome(users::create(&r.db, &r.actor, new).await, User).map(Into::into)
    }

    /// Changes a user's name, role or capacity. Admins only.
    async fn update_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user and the fields to change; omitted fields stay as they are.")] input: UpdateUserInput,
    ) -> async_graphql::Result<UserPayload> {
        let r = request(ctx);
        let result = async {
            let id = UserId(input_id(&input.id, Kind::User, &["id"])?);
            let p = UserPatch {
                name: input.name,
                role: input.role.map(Into::into),
                capacity: patch(input.capacity, Ok)?,
                expected_version: input.expected_version,
            };
            users::update(&r.db, &r.actor, id, p).await
        }
        .await;
        outcome(result, User).map(Into::into)
    }

    /// Archives a user: they can no longer sign in. Admins only.
    async fn archive_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user who should no longer sign in.")] input: TargetInput,
    ) -> async_graphql::Result<UserPayload> {
        let r = request(ctx);
        let result = async {
            let id = UserId(input_id(&input.id, Kind::User, &["id"])?);
            users::archive(&r.db, &r.actor, id, input.expected_version).await
        }
        .await;
        outcome(result, User).map(Into::into)
    }
}
