//! The authorization rules of SPEC sections 3 and 4, as plain functions over
//! facts the services gather. Each returns the error the caller should see.

use super::caller::Caller;
use super::error::DomainError;
use super::ids::{AccountId, GitHubUserId};
use super::installation::{Installation, InstallationStatus, OrgMembership};

/// Who may link an installation to a team (`LINK_POLICY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkAuthority {
    /// The installation's owner: the user of a personal installation, an
    /// active owner (`admin`) of an organisation's.
    Admin,
    /// Anyone GitHub lists the installation to: explicit access to any one
    /// of its repositories is enough (an outside collaborator too).
    Access,
}

impl LinkAuthority {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "admin" => Some(Self::Admin),
            "access" => Some(Self::Access),
            _ => None,
        }
    }
}

/// Under [`LinkAuthority::Admin`], the linking GitHub user must own the
/// installation's account: be that user, for a personal installation, or
/// an active admin of the organisation (`membership`, `None` when GitHub
/// says they are not a member).
pub fn require_installation_admin(
    installation: &Installation,
    user: GitHubUserId,
    membership: Option<OrgMembership>,
) -> Result<(), DomainError> {
    let owner = if installation.is_organization() {
        membership.is_some_and(|m| m.admin && m.active)
    } else {
        installation.account_id == user.0
    };
    if owner {
        Ok(())
    } else {
        Err(DomainError::forbidden(
            "installation_admin_required",
            format!(
                "only {} can link its installation: its own user, or an owner of the organization",
                installation.account_login
            ),
        ))
    }
}

/// Frontend routes on an account: the caller's JWT must list it.
pub fn require_member(caller: &Caller, account: &AccountId) -> Result<(), DomainError> {
    if caller.is_member(account) {
        Ok(())
    } else {
        Err(DomainError::forbidden(
            "not_account_member",
            format!("you are not a member of account {account}"),
        ))
    }
}

/// Linking needs both: membership of the account and GitHub access to the
/// installation, confirmed with the caller's own GitHub token.
pub fn require_can_link(
    caller: &Caller,
    account: &AccountId,
    user_reaches_installation: bool,
) -> Result<(), DomainError> {
    require_member(caller, account)?;
    if !user_reaches_installation {
        return Err(DomainError::forbidden(
            "installation_not_accessible",
            "your GitHub user cannot access that installation",
        ));
    }
    Ok(())
}

/// Vending: the installation must be linked to the account, known and active.
/// `linked` and `installation` come from one consistent read.
pub fn require_vendable(linked: bool, installation: Option<&Installation>) -> Result<&Installation, DomainError> {
    let installation = match (linked, installation) {
        (true, Some(i)) => i,
        _ => {
            return Err(DomainError::forbidden(
                "installation_not_linked",
                "that installation is not linked to this account",
            ))
        }
    };
    if installation.status == InstallationStatus::Suspended {
        return Err(DomainError::forbidden(
            "installation_suspended",
            "that installation is suspended on GitHub",
        ));
    }
    Ok(installation)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::InstallationId;
    use std::collections::BTreeMap;

    fn installation(status: InstallationStatus) -> Installation {
        Installation {
            id: InstallationId(1),
            account_id: 2,
            account_login: "octo".into(),
            account_type: "Organization".into(),
            repository_selection: "all".into(),
            permissions: BTreeMap::new(),
            status,
        }
    }

    fn caller(accounts: &str) -> Caller {
        Caller {
            user: crate::domain::UserId::parse("u").unwrap(),
            accounts: crate::domain::caller::parse_accounts(accounts),
        }
    }

    #[test]
    fn linking_needs_membership_and_github_access() {
        let team = AccountId::parse("team").unwrap();
        assert!(require_can_link(&caller("team"), &team, true).is_ok());
        assert_eq!(
            require_can_link(&caller("other"), &team, true).unwrap_err().code(),
            "not_account_member"
        );
        assert_eq!(
            require_can_link(&caller("team"), &team, false).unwrap_err().code(),
            "installation_not_accessible"
        );
    }

    #[test]
    fn the_admin_rule_wants_the_personal_accounts_user_or_an_active_org_owner() {
        let mut org = installation(InstallationStatus::Active);
        let me = GitHubUserId(7);
        let membership = |admin, active| Some(OrgMembership { admin, active });
        assert!(require_installation_admin(&org, me, membership(true, true)).is_ok());
        for refused in [
            None,
            membership(false, true),
            membership(true, false),
            membership(false, false),
        ] {
            assert_eq!(
                require_installation_admin(&org, me, refused).unwrap_err().code(),
                "installation_admin_required"
            );
        }
        org.account_type = "User".into();
        org.account_id = 7;
        assert!(require_installation_admin(&org, me, None).is_ok());
        org.account_id = 8;
        assert!(require_installation_admin(&org, me, membership(true, true)).is_err());
    }

    #[test]
    fn only_linked_active_installations_are_vendable() {
        let active = installation(InstallationStatus::Active);
        let suspended = installation(InstallationStatus::Suspended);
        assert!(require_vendable(true, Some(&active)).is_ok());
        assert_eq!(
            require_vendable(false, Some(&active)).unwrap_err().code(),
            "installation_not_linked"
        );
        assert_eq!(
            require_vendable(true, None).unwrap_err().code(),
            "installation_not_linked"
        );
        assert_eq!(
            require_vendable(true, Some(&suspended)).unwrap_err().code(),
            "installation_suspended"
        );
    }
}
