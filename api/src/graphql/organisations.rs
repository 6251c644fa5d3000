//! The organisation (tenant) of the caller, and its settings.

use async_graphql::{Context, ID, InputObject, Object};
use bellwether_domain as d;
use bellwether_domain::organisations::{self, OrganisationPatch};
use chrono::{DateTime, Utc};

use super::scalars::Date;
use super::support::{Kind, global_id, outcome, payload, request};

pub struct Organisation(pub d::Organisation);

/// An organisation using Bellwether; everything you can see belongs to yours.
#[Object]
impl Organisation {
    /// Opaque global id: pass it to `node(id:)` or wherever an input asks for this object.
    pub async fn id(&self) -> ID {
        global_id(Kind::Organisation, self.0.id.0)
    }
    /// Short unique name used on the command line and in URLs.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// The organisation's name as its users see it.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The IANA time zone the organisation's dates are read in (for example `Europe/Paris`):
    /// "today", action deadlines and what is overdue follow its calendar. `UTC` unless set.
    async fn time_zone(&self) -> &str {
        self.0.time_zone.name()
    }
    /// Today's date on the organisation's calendar: the day deadlines are measured against.
    async fn today(&self) -> Date {
        Date(self.0.today())
    }
    /// Incremented by every change; pass it as `expectedVersion` to update safely.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When the organisation was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

payload!(
    /// Result of changing the organisation's settings.
    OrganisationPayload { organisation: Organisation }
);

/// Changes to your organisation; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateOrganisationInput {
    /// The organisation's name as its users will see it.
    pub name: Option<String>,
    /// New IANA time zone, such as `Europe/Paris` or `America/New_York`. Deadlines already set
    /// keep their dates; what is overdue follows the new calendar at once.
    pub time_zone: Option<String>,
    /// Fail with a CONFLICT user error unless the organisation still has this version.
    pub expected_version: Option<i32>,
}

#[derive(Default)]
pub struct OrganisationMutation;

#[Object]
impl OrganisationMutation {
    /// Changes your organisation's name or time zone. Admins only.
    async fn update_organisation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The settings to change; omitted fields stay as they are.")] input: UpdateOrganisationInput,
    ) -> async_graphql::Result<OrganisationPayload> {
        let r = request(ctx);
        let patch = OrganisationPatch {
            name: input.name,
            time_zone: input.time_zone,
            expected_version: input.expected_version,
        };
        outcome(organisations::update(&r.db, &r.actor, patch).await, Organisation).map(Into::into)
    }
}
