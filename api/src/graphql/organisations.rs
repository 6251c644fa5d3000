//! The organisation (tenant) of the caller.

use async_graphql::{ID, Object};
use bellwether_domain as d;
use chrono::{DateTime, Utc};

use super::support::{Kind, global_id};

/// An organisation using Bellwether; everything you can see belongs to yours.
pub struct Organisation(pub d::Organisation);

#[Object]
impl Organisation {
    /// Global id.
    pub async fn id(&self) -> ID {
        global_id(Kind::Organisation, self.0.id.0)
    }
    /// Short unique name used on the command line and in URLs.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// When the organisation was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
