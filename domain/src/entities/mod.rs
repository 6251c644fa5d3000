//! sea-orm entities: the tables, private to this crate. The rest of the world sees domain types.

pub(crate) mod account;
pub(crate) mod contact;
pub(crate) mod instance_setting;
pub(crate) mod interaction;
pub(crate) mod interaction_contact;
pub(crate) mod interaction_user;
pub(crate) mod organisation;
pub(crate) mod user;
