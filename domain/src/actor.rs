//! Who is acting: the verified identity every domain operation is scoped by.

use chrono::NaiveDate;
use chrono_tz::Tz;

use crate::{Error, OrganisationId, Result, Role, UserId};

/// The caller of a domain operation. Built by `api` from a verified token and the user's row;
/// the organisation is never taken from request input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Actor {
    pub organisation: OrganisationId,
    pub user: UserId,
    pub role: Role,
    /// The organisation's time zone, read with the user on every request.
    pub time_zone: Tz,
}

impl Actor {
    /// Today on the organisation's calendar: what deadlines and "overdue" are measured against.
    pub fn today(&self) -> NaiveDate {
        crate::organisations::today_in(self.time_zone)
    }

    /// Any write at all (viewers are read-only).
    pub fn require_writer(&self) -> Result<()> {
        match self.role {
            Role::Viewer => Err(Error::Forbidden("viewers have read-only access".into())),
            _ => Ok(()),
        }
    }

    /// Organisation-wide writes: admins and managers.
    pub fn require_manager(&self) -> Result<()> {
        match self.role {
            Role::Admin | Role::Manager => Ok(()),
            _ => Err(Error::Forbidden("only admins and managers may do this".into())),
        }
    }

    /// User management: admins only.
    pub fn require_admin(&self) -> Result<()> {
        match self.role {
            Role::Admin => Ok(()),
            _ => Err(Error::Forbidden("only admins may manage users".into())),
        }
    }

    /// Writes to one account and what hangs off it (contacts, interactions).
    pub fn require_account_writer(&self, account_manager: Option<UserId>, sales_owner: Option<UserId>) -> Result<()> {
        match self.role {
            Role::Admin | Role::Manager => Ok(()),
            Role::AccountManager if account_manager == Some(self.user) => Ok(()),
            Role::Sales if sales_owner == Some(self.user) => Ok(()),
            Role::AccountManager => {
                Err(Error::Forbidden("account managers may only change accounts they manage".into()))
            }
            Role::Sales => Err(Error::Forbidden("sales owners may only change accounts they own".into())),
            Role::Viewer => Err(Error::Forbidden("viewers have read-only access".into())),
        }
    }
}
