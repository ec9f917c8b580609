//! The authorization rules of SPEC sections 3 and 4, as plain functions over
//! facts the services gather. Each returns the error the caller should see.

use super::caller::Caller;
use super::ids::AccountId;
use super::installation::{Installation, InstallationStatus};
use crate::error::Error;

/// Frontend routes on an account: the caller's JWT must list it.
pub fn require_member(caller: &Caller, account: &AccountId) -> Result<(), Error> {
    if caller.is_member(account) {
        Ok(())
    } else {
        Err(Error::forbidden(
            "not_account_member",
            format!("you are not a member of account {account}"),
        ))
    }
}

/// Linking needs both: membership of the account and GitHub access to the
/// installation, confirmed with the caller's own GitHub token.
pub fn require_can_link(caller: &Caller, account: &AccountId, user_reaches_installation: bool) -> Result<(), Error> {
    require_member(caller, account)?;
    if !user_reaches_installation {
        return Err(Error::forbidden(
            "installation_not_accessible",
            "your GitHub user cannot access that installation",
        ));
    }
    Ok(())
}

/// Vending: the installation must be linked to the account, known and active.
/// `linked` and `installation` come from one consistent read.
pub fn require_vendable(linked: bool, installation: Option<&Installation>) -> Result<&Installation, Error> {
    let installation = match (linked, installation) {
        (true, Some(i)) => i,
        _ => {
            return Err(Error::forbidden(
                "installation_not_linked",
                "that installation is not linked to this account",
            ))
        }
    };
    if installation.status == InstallationStatus::Suspended {
        return Err(Error::forbidden(
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
