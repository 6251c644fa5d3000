//! The query root.

use async_graphql::connection::{Connection, EmptyFields};
use async_graphql::{Context, ErrorExtensions as _, ID, Interface, MergedObject, Object};
use bellwether_domain::signals::{assessments, contracts, invoices, metrics, surveys, tickets};
use bellwether_domain::{
    AccountId, AssessmentId, ContactId, ContractChangeId, HealthScoreId, InteractionId, InvoiceId, MetricId, PluginId,
    RiskId, RuleRunId, ScorecardId, SurveyResponseId, TicketId, UserId, accounts, health, organisations, plugins,
    risks,
};
use bellwether_domain::{
    ActionPlanId, FeedbackItemId, PlanActionId, PlaybookId, PostMortemId, RiskUpdateId, plans, playbooks, post_mortems,
};

use super::accounts::{Account, AccountFilter, AccountOrder};
use super::contacts::Contact;
use super::count::TotalCount;
use super::health::{HealthScore, HealthScorecard};
use super::interactions::Interaction;
use super::loaders::load_error;
use super::organisations::Organisation;
use super::plans::{ActionPlan, PlanAction, PlanQuery, Playbook, RiskUpdate};
use super::plugins::{PluginQuery, RulePlugin};
use super::post_mortems::{FeedbackItem, PostMortem, PostMortemQuery};
use super::risks::{Risk, RiskQuery, RuleRun};
use super::signals::{
    ContractChange, Invoice, MetricDefinition, RelationshipAssessment, SupportTicket, SurveyResponse,
};
use super::support::{GqlResult, Kind, codes, internal, page_cost, page_request, parse_global_id, request};
use super::users::{User, UserFilter, UserOrder, list_users};

/// Most ids one `nodes` call may ask for.
pub const MAX_NODES: usize = 100;

/// An object with a global id, fetchable with `node(id:)`.
#[derive(Interface)]
#[graphql(field(
    name = "id",
    ty = "ID",
    desc = "Opaque global id: pass it to `node(id:)` or wherever an input asks for this object."
))]
pub enum Node {
    Organisation(Organisation),
    User(User),
    Account(Account),
    Contact(Contact),
    Interaction(Interaction),
    MetricDefinition(MetricDefinition),
    SupportTicket(SupportTicket),
    Invoice(Invoice),
    SurveyResponse(SurveyResponse),
    RelationshipAssessment(RelationshipAssessment),
    ContractChange(ContractChange),
    HealthScorecard(HealthScorecard),
    HealthScore(HealthScore),
    Risk(Risk),
    RuleRun(RuleRun),
    RulePlugin(RulePlugin),
    Playbook(Playbook),
    ActionPlan(ActionPlan),
    PlanAction(PlanAction),
    RiskUpdate(RiskUpdate),
    PostMortem(PostMortem),
    FeedbackItem(FeedbackItem),
}

async fn node(ctx: &Context<'_>, id: &str) -> async_graphql::Result<Option<Node>> {
    let r = request(ctx);
    let Some((kind, uuid)) = parse_global_id(id) else {
        return Ok(None);
    };
    let l = &r.loader;
    let org = r.actor.organisation;
    Ok(match kind {
        Kind::Organisation if uuid == r.actor.organisation.0 => {
            organisations::get(&r.db, r.actor.organisation).await.gql()?.map(|o| Node::Organisation(Organisation(o)))
        }
        Kind::Organisation => None,
        Kind::User => l.load_one(UserId(uuid)).await.map_err(load_error)?.map(|u| Node::User(User(u))),
        Kind::Account => l.load_one(AccountId(uuid)).await.map_err(load_error)?.map(|a| Node::Account(Account(a))),
        Kind::Contact => l.load_one(ContactId(uuid)).await.map_err(load_error)?.map(|c| Node::Contact(Contact(c))),
        Kind::Interaction => {
            l.load_one(InteractionId(uuid)).await.map_err(load_error)?.map(|i| Node::Interaction(Interaction(i)))
        }
        Kind::MetricDefinition => metrics::definition(&r.db, org, MetricId(uuid))
            .await
            .gql()?
            .map(|m| Node::MetricDefinition(MetricDefinition(m))),
        Kind::SupportTicket => {
            tickets::get(&r.db, org, TicketId(uuid)).await.gql()?.map(|t| Node::SupportTicket(SupportTicket(t)))
        }
        Kind::Invoice => invoices::get(&r.db, org, InvoiceId(uuid)).await.gql()?.map(|i| Node::Invoice(Invoice(i))),
        Kind::SurveyResponse => surveys::get(&r.db, org, SurveyResponseId(uuid))
            .await
            .gql()?
            .map(|s| Node::SurveyResponse(SurveyResponse(s))),
        Kind::RelationshipAssessment => assessments::get(&r.db, org, AssessmentId(uuid))
            .await
            .gql()?
            .map(|a| Node::RelationshipAssessment(RelationshipAssessment(a))),
        Kind::ContractChange => contracts::get(&r.db, org, ContractChangeId(uuid))
            .await
            .gql()?
            .map(|c| Node::ContractChange(ContractChange(c))),
        Kind::HealthScorecard => health::scorecard(&r.db, org, ScorecardId(uuid))
            .await
            .gql()?
            .map(|c| Node::HealthScorecard(HealthScorecard(c))),
        Kind::HealthScore => {
            health::score(&r.db, org, HealthScoreId(uuid)).await.gql()?.map(|h| Node::HealthScore(HealthScore(h)))
        }
        Kind::Risk => risks::get(&r.db, org, RiskId(uuid)).await.gql()?.map(|x| Node::Risk(Risk(x))),
        // Audit entries are read through their risk (`Risk.events`); their id only lets clients
        // tell them apart.
        Kind::RiskEvent => None,
        Kind::RuleRun => risks::runs::get(&r.db, org, RuleRunId(uuid)).await.gql()?.map(|x| Node::RuleRun(RuleRun(x))),
        // Plugins are admin business: other roles do not see them, not even by id.
        Kind::RulePlugin if r.actor.require_admin().is_ok() => {
            plugins::get(&r.db, org, PluginId(uuid)).await.gql()?.map(|p| Node::RulePlugin(RulePlugin(p)))
        }
        Kind::RulePlugin => None,
        Kind::Playbook => {
            playbooks::get(&r.db, org, PlaybookId(uuid)).await.gql()?.map(|p| Node::Playbook(Playbook(p)))
        }
        Kind::ActionPlan => {
            plans::get(&r.db, org, ActionPlanId(uuid)).await.gql()?.map(|p| Node::ActionPlan(ActionPlan(p)))
        }
        Kind::PlanAction => {
            plans::action(&r.db, org, PlanActionId(uuid)).await.gql()?.map(|a| Node::PlanAction(PlanAction(a)))
        }
        Kind::RiskUpdate => {
            risks::updates::get(&r.db, org, RiskUpdateId(uuid)).await.gql()?.map(|u| Node::RiskUpdate(RiskUpdate(u)))
        }
        Kind::PostMortem => {
            post_mortems::get(&r.db, org, PostMortemId(uuid)).await.gql()?.map(|p| Node::PostMortem(PostMortem::new(p)))
        }
        Kind::FeedbackItem => post_mortems::feedback(&r.db, org, FeedbackItemId(uuid))
            .await
            .gql()?
            .map(|f| Node::FeedbackItem(FeedbackItem(f))),
    })
}

/// The query root: the core aggregates plus one group per later aggregate.
#[derive(MergedObject, Default)]
pub struct Query(CoreQuery, RiskQuery, PluginQuery, PlanQuery, PostMortemQuery, super::quality::QualityQuery);

#[derive(Default)]
pub struct CoreQuery;

#[Object]
impl CoreQuery {
    /// The signed-in user.
    async fn viewer(&self, ctx: &Context<'_>) -> async_graphql::Result<User> {
        let r = request(ctx);
        r.loader.load_one(r.actor.user).await.map_err(load_error)?.map(User).ok_or_else(internal)
    }

    /// The organisation you belong to, with its settings.
    async fn organisation(&self, ctx: &Context<'_>) -> async_graphql::Result<Organisation> {
        let r = request(ctx);
        organisations::get(&r.db, r.actor.organisation).await.gql()?.map(Organisation).ok_or_else(internal)
    }

    /// Any object by global id; null when it does not exist, is not yours, or is not a `Node`
    /// (risk events and metric points have ids but are read through their risk or account).
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The object's `id`, as read from any earlier answer.")] id: ID,
    ) -> async_graphql::Result<Option<Node>> {
        node(ctx, &id).await
    }

    /// Several objects by global id, in the order asked (null for each unknown one); at most 100.
    #[graphql(complexity = "1 + ids.len() * child_complexity")]
    async fn nodes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The objects' ids (at most 100); the answer keeps their order.")] ids: Vec<ID>,
    ) -> async_graphql::Result<Vec<Option<Node>>> {
        if ids.len() > MAX_NODES {
            return Err(async_graphql::Error::new(format!("at most {MAX_NODES} ids per call"))
                .extend_with(|_, e| e.set("code", codes::BAD_USER_INPUT)));
        }
        let mut out = Vec::with_capacity(ids.len());
        for id in &ids {
            out.push(node(ctx, id).await?);
        }
        Ok(out)
    }

    /// Accounts of your organisation.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn accounts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Conditions the accounts must meet.")] filter: Option<AccountFilter>,
        #[graphql(desc = "Ordering (default by name).")] order_by: Option<AccountOrder>,
        #[graphql(desc = "Return the first n items after `after` (1-100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor from a previous page's `pageInfo.endCursor`.")] after: Option<String>,
        #[graphql(desc = "Return the last n items before `before` (1-100).")] last: Option<i32>,
        #[graphql(desc = "Cursor from a previous page's `pageInfo.startCursor`.")] before: Option<String>,
    ) -> async_graphql::Result<Connection<String, Account, TotalCount, EmptyFields>> {
        let f = filter.unwrap_or_default().into_domain(request(ctx).today)?;
        super::accounts::list(ctx, f, order_by, page_request(first, after, last, before)?).await
    }

    /// The account with this external reference (e.g. your CRM id), if any.
    async fn account_by_external_ref(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Your reference for the account, as set in its `externalRef`.")] external_ref: String,
    ) -> async_graphql::Result<Option<Account>> {
        let r = request(ctx);
        Ok(accounts::by_external_ref(&r.db, r.actor.organisation, &external_ref).await.gql()?.map(Account))
    }

    /// The metrics your organisation tracks, by key.
    async fn metric_definitions(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<MetricDefinition>> {
        let r = request(ctx);
        Ok(metrics::definitions(&r.db, r.actor.organisation).await.gql()?.into_iter().map(MetricDefinition).collect())
    }

    /// The custom account attributes your organisation defined, by key.
    async fn attribute_definitions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Include archived attributes (default false).", default)] include_archived: bool,
    ) -> async_graphql::Result<Vec<super::attributes::AttributeDefinition>> {
        super::attributes::definitions(ctx, include_archived).await
    }

    /// Your organisation's health scorecards, the default first.
    async fn health_scorecards(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<HealthScorecard>> {
        let r = request(ctx);
        Ok(health::scorecards(&r.db, r.actor.organisation).await.gql()?.into_iter().map(HealthScorecard).collect())
    }

    /// Users of your organisation.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn users(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Conditions the users must meet.")] filter: Option<UserFilter>,
        #[graphql(desc = "Ordering (default by name).")] order_by: Option<UserOrder>,
        #[graphql(desc = "Return the first n items after `after` (1-100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor from a previous page's `pageInfo.endCursor`.")] after: Option<String>,
        #[graphql(desc = "Return the last n items before `before` (1-100).")] last: Option<i32>,
        #[graphql(desc = "Cursor from a previous page's `pageInfo.startCursor`.")] before: Option<String>,
    ) -> async_graphql::Result<Connection<String, User, TotalCount, EmptyFields>> {
        list_users(ctx, filter, order_by, page_request(first, after, last, before)?).await
    }
}
