//! An installation of the app as the broker remembers it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ids::InstallationId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstallationStatus {
    Active,
    Suspended,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Installation {
    pub id: InstallationId,
    /// The GitHub account (user or organisation) the app is installed on.
    pub account_id: u64,
    pub account_login: String,
    /// `User` or `Organization`, as GitHub spells it.
    pub account_type: String,
    /// `all` or `selected`.
    pub repository_selection: String,
    pub permissions: BTreeMap<String, String>,
    pub status: InstallationStatus,
}

impl Installation {
    pub fn is_organization(&self) -> bool {
        self.account_type.eq_ignore_ascii_case("Organization")
    }

    pub fn owned_by(&self, login: &str) -> bool {
        self.account_login.eq_ignore_ascii_case(login)
    }
}

/// A user's membership of the organisation an installation is on, as
/// GitHub's membership API reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrgMembership {
    /// `role: admin`: an owner of the organisation.
    pub admin: bool,
    /// `state: active`, not an invitation still pending.
    pub active: bool,
}
