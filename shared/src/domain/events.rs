//! The GitHub events the broker acts on, and what each means. One table
//! ([`HANDLED`]) lists every (event, action) with its meaning and what its
//! payload must name: handling a new action that means something the
//! broker already does is one variant and one row, here.
//!
//! An installation event is only a cue: its payload may be late or out of
//! order, so the service reads the installation from GitHub before writing
//! (see `service::webhooks`). The payload only says which installation.

use super::error::{DomainError, DomainResult};
use super::ids::{GitHubUserId, InstallationId};

/// An (event, action) the broker handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookEvent {
    InstallationCreated,
    InstallationDeleted,
    InstallationSuspend,
    InstallationUnsuspend,
    InstallationNewPermissionsAccepted,
    RepositoriesAdded,
    RepositoriesRemoved,
    /// The installation's account was renamed.
    InstallationTargetRenamed,
    /// A user revoked the app's authorization.
    AuthorizationRevoked,
}

/// What an event asks of the broker, and so what its payload must name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Meaning {
    /// The installation changed on GitHub: read it and write what GitHub
    /// says. `invalidate_tokens` when what its tokens reach may have
    /// changed (permissions, repositories). GitHub sends the installation's
    /// account `at` the installation, or beside it.
    Sync {
        invalidate_tokens: bool,
        account: AccountAt,
    },
    /// The installation is gone: tombstone it, remove its links and tokens.
    /// Its id is all the payload must name.
    Delete,
    /// The user's grant is gone: drop their connections. Its `sender` is the user.
    RevokeUser,
}

/// Where an installation event's payload carries the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AccountAt {
    /// `installation.account`.
    Installation,
    /// `account`, beside an installation that carries only its id
    /// (`installation_target`).
    Beside,
}

use AccountAt::{Beside, Installation as InInstallation};
use Meaning::{Delete, RevokeUser, Sync};
use WebhookEvent::*;

/// Every (event, action) the broker handles, with its meaning. Any other
/// delivery is acknowledged and ignored.
#[rustfmt::skip]
const HANDLED: &[(&str, &str, WebhookEvent, Meaning)] = &[
    ("installation", "created", InstallationCreated, Sync { invalidate_tokens: false, account: InInstallation }),
    ("installation", "deleted", InstallationDeleted, Delete),
    ("installation", "suspend", InstallationSuspend, Sync { invalidate_tokens: false, account: InInstallation }),
    ("installation", "unsuspend", InstallationUnsuspend, Sync { invalidate_tokens: false, account: InInstallation }),
    ("installation", "new_permissions_accepted", InstallationNewPermissionsAccepted, Sync { invalidate_tokens: true, account: InInstallation }),
    ("installation_repositories", "added", RepositoriesAdded, Sync { invalidate_tokens: true, account: InInstallation }),
    ("installation_repositories", "removed", RepositoriesRemoved, Sync { invalidate_tokens: true, account: InInstallation }),
    ("installation_target", "renamed", InstallationTargetRenamed, Sync { invalidate_tokens: false, account: Beside }),
    ("github_app_authorization", "revoked", AuthorizationRevoked, RevokeUser),
];

/// What the edge read of a payload: only the fields any handled event needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PayloadFacts {
    /// `installation.id`, and whether the installation carries its `account`.
    pub installation: Option<(u64, bool)>,
    /// Whether the payload has an `account` beside the installation.
    pub account: bool,
    /// `sender.id`.
    pub sender: Option<u64>,
}

/// What a delivery asks of the broker, about whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Installation `id` changed on GitHub: read it and write what GitHub
    /// says; `invalidate_tokens` when what its tokens reach may have changed.
    Sync {
        id: InstallationId,
        invalidate_tokens: bool,
    },
    /// Installation `id` is gone.
    Delete(InstallationId),
    /// The GitHub user's grant is gone.
    RevokeUser(GitHubUserId),
}

impl WebhookEvent {
    /// The handled event GitHub's `X-GitHub-Event` and the payload's
    /// `action` name; `None`: not one the broker acts on.
    pub fn parse(event: &str, action: Option<&str>) -> Option<Self> {
        let action = action.unwrap_or("");
        HANDLED
            .iter()
            .find(|(e, a, ..)| *e == event && *a == action)
            .map(|(_, _, handled, ..)| *handled)
    }

    fn row(self) -> &'static (&'static str, &'static str, WebhookEvent, Meaning) {
        HANDLED
            .iter()
            .find(|row| row.2 == self)
            .expect("every event has its row in HANDLED")
    }

    /// What the delivery asks, about whom its payload names; a payload
    /// without what GitHub always sends for this event is not one of
    /// GitHub's, and is refused.
    pub fn effect(self, facts: &PayloadFacts) -> DomainResult<Effect> {
        let invalid = |message: &str| DomainError::invalid("invalid_payload", message);
        let installation = || match facts.installation {
            None => Err(invalid("installation event without an installation")),
            // GitHub's ids are positive: an id 0 would become a record (or a
            // tombstone) that no installation can ever match.
            Some((0, _)) => Err(invalid("installation id 0")),
            Some((id, _)) => Ok(InstallationId(id)),
        };
        Ok(match self.row().3 {
            Sync {
                invalidate_tokens,
                account,
            } => {
                let id = installation()?;
                match account {
                    InInstallation if facts.installation.is_some_and(|(_, with)| !with) => {
                        return Err(invalid("installation without account"))
                    }
                    Beside if !facts.account => return Err(invalid("installation_target without account")),
                    _ => Effect::Sync { id, invalidate_tokens },
                }
            }
            Delete => Effect::Delete(installation()?),
            RevokeUser => Effect::RevokeUser(GitHubUserId(
                facts.sender.ok_or_else(|| invalid("revocation without sender"))?,
            )),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_handled_event_parses_from_its_names_and_nothing_else_does() {
        for (event, action, handled, ..) in HANDLED {
            assert_eq!(WebhookEvent::parse(event, Some(action)), Some(*handled));
        }
        assert_eq!(WebhookEvent::parse("installation", None), None);
        assert_eq!(WebhookEvent::parse("push", None), None);
        assert_eq!(WebhookEvent::parse("installation", Some("renamed")), None);
    }

    #[test]
    fn what_changes_tokens_invalidates_them() {
        let facts = PayloadFacts {
            installation: Some((5, true)),
            ..Default::default()
        };
        let invalidates = |event: WebhookEvent| match event.effect(&facts) {
            Ok(Effect::Sync { invalidate_tokens, .. }) => invalidate_tokens,
            other => panic!("{event:?}: {other:?}"),
        };
        assert!(invalidates(RepositoriesAdded) && invalidates(RepositoriesRemoved));
        assert!(invalidates(InstallationNewPermissionsAccepted));
        assert!(!invalidates(InstallationSuspend) && !invalidates(InstallationCreated));
    }

    #[test]
    fn a_payload_without_what_github_always_sends_is_refused() {
        let with = |id, account| PayloadFacts {
            installation: Some((id, account)),
            ..Default::default()
        };
        assert_eq!(
            InstallationCreated.effect(&with(5, true)),
            Ok(Effect::Sync {
                id: InstallationId(5),
                invalidate_tokens: false
            })
        );
        assert!(InstallationCreated.effect(&with(5, false)).is_err());
        assert!(InstallationCreated.effect(&with(0, true)).is_err());
        assert!(InstallationCreated.effect(&PayloadFacts::default()).is_err());
        // A deletion needs only the id.
        assert_eq!(
            InstallationDeleted.effect(&with(5, false)),
            Ok(Effect::Delete(InstallationId(5)))
        );
        // A rename's account is beside the installation.
        assert!(InstallationTargetRenamed.effect(&with(5, false)).is_err());
        let renamed = PayloadFacts {
            account: true,
            ..with(5, false)
        };
        assert!(InstallationTargetRenamed.effect(&renamed).is_ok());
        let revoked = PayloadFacts {
            sender: Some(7),
            ..Default::default()
        };
        assert_eq!(
            AuthorizationRevoked.effect(&revoked),
            Ok(Effect::RevokeUser(GitHubUserId(7)))
        );
        assert!(AuthorizationRevoked.effect(&PayloadFacts::default()).is_err());
    }
}
