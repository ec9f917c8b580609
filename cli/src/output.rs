//! Printing results: JSON (the broker's answer, whole) or tables for
//! people, with comfy-table (kept up, no proc macros or unsafe, wraps
//! columns to the terminal's width and degrades to plain text when the
//! output is not a terminal).

use std::collections::BTreeMap;

use broker_client::types::*;
use comfy_table::{presets, ContentArrangement, Table};
use serde::Serialize;

use crate::args::Output;

/// What a command prints, in either form.
pub trait Render: Serialize {
    /// The form for people.
    fn table(&self) -> String;
}

/// The text to print for `value` in the chosen form (no trailing newline).
pub fn render<T: Render>(value: &T, output: Output) -> String {
    match output {
        Output::Json => serde_json::to_string_pretty(value).expect("answers serialize"),
        Output::Table => value.table(),
    }
}

fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_HORIZONTAL_ONLY)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.iter().copied());
    table
}

/// Two columns: a name and its value.
fn fields(rows: &[(&str, String)]) -> String {
    let mut t = Table::new();
    t.load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Dynamic);
    for (name, value) in rows {
        t.add_row([name.to_string(), value.clone()]);
    }
    t.to_string()
}

fn permissions<V: std::fmt::Display>(map: &BTreeMap<String, V>) -> String {
    if map.is_empty() {
        return "-".into();
    }
    map.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn or_dash(value: Option<impl ToString>) -> String {
    value.map(|v| v.to_string()).unwrap_or_else(|| "-".into())
}

const INSTALLATION_COLUMNS: &[&str] = &["INSTALLATION", "ON", "TYPE", "STATUS", "REPOS", "PERMISSIONS"];

/// An installation's row of a table, with one more column at its end.
fn installation_row(i: &InstallationView, last: String) -> [String; 7] {
    [
        i.id.to_string(),
        i.account.login.clone(),
        i.account.kind.clone(),
        i.status.to_string(),
        i.repository_selection.clone(),
        permissions(&i.permissions),
        last,
    ]
}

/// A link's policy on one line.
pub fn policy(policy: &LinkPolicy) -> String {
    if policy.is_unrestricted() {
        return "whole installation".into();
    }
    let repos = match &policy.repositories {
        Some(r) => format!("repos: {}", r.join(", ")),
        None => "repos: all".into(),
    };
    let perms = match &policy.permissions {
        Some(p) => format!("permissions: {}", permissions(p)),
        None => "permissions: all".into(),
    };
    format!("{repos}; {perms}")
}

fn scope(scope: &Option<AuditScope>) -> String {
    let Some(scope) = scope else { return "-".into() };
    let mut parts = Vec::new();
    if let Some(r) = &scope.repositories {
        parts.push(format!("repos: {}", r.join(", ")));
    }
    if let Some(ids) = &scope.repository_ids {
        let ids: Vec<_> = ids.iter().map(u64::to_string).collect();
        parts.push(format!("repo ids: {}", ids.join(", ")));
    }
    if let Some(p) = &scope.permissions {
        parts.push(permissions(p));
    }
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join("; ")
    }
}

/// A token command prints the bare token.
impl Render for VendResponse {
    fn table(&self) -> String {
        self.token.clone()
    }
}

impl Render for UserToken {
    fn table(&self) -> String {
        self.token.clone()
    }
}

impl Render for AccountInstallations {
    fn table(&self) -> String {
        if self.installations.is_empty() {
            return format!("no installation is linked to {}", self.account_id);
        }
        let mut t = table(&[INSTALLATION_COLUMNS, &["POLICY"]].concat());
        for linked in &self.installations {
            t.add_row(installation_row(&linked.installation, policy(&linked.policy)));
        }
        t.to_string()
    }
}

impl Render for ReachableList {
    fn table(&self) -> String {
        if self.installations.is_empty() {
            return "no installation of the app is reachable by your GitHub user".into();
        }
        let mut t = table(&[INSTALLATION_COLUMNS, &["LINKED TO"]].concat());
        for reachable in &self.installations {
            let teams = match reachable.linked_accounts.as_slice() {
                [] => "-".into(),
                teams => teams.join(", "),
            };
            t.add_row(installation_row(&reachable.installation, teams));
        }
        t.to_string()
    }
}

impl Render for LinkView {
    fn table(&self) -> String {
        let mut rows = vec![
            ("account", self.account_id.clone()),
            ("installation", self.installation_id.to_string()),
            ("linked", self.linked.to_string()),
        ];
        if let Some(i) = &self.installation {
            rows.push(("on", format!("{} ({})", i.account.login, i.account.kind)));
            rows.push(("status", i.status.to_string()));
        }
        if let Some(p) = &self.policy {
            rows.push(("policy", policy(p)));
        }
        if let Some(t) = &self.tokens {
            rows.push(("tokens revoked", t.revoked.to_string()));
            rows.push(("tokens pending", t.pending.to_string()));
        }
        fields(&rows)
    }
}

impl Render for AuditTrail {
    fn table(&self) -> String {
        if self.records.is_empty() {
            return "no records".into();
        }
        let mut t = table(&["TIME", "ACTION", "OUTCOME", "CALLER", "INSTALLATION", "CODE", "GRANTED"]);
        for r in &self.records {
            t.add_row([
                r.time.clone(),
                r.action.to_string(),
                r.outcome.to_string(),
                r.caller.clone(),
                or_dash(r.installation_id),
                or_dash(r.error_code.as_deref()),
                scope(&r.scope_granted),
            ]);
        }
        t.to_string()
    }
}

impl Render for Repository {
    fn table(&self) -> String {
        fields(&[
            ("repository", self.full_name.clone()),
            ("id", self.id.to_string()),
            ("private", self.private.to_string()),
            ("default branch", or_dash(self.default_branch.as_deref())),
            ("url", or_dash(self.html_url.as_deref())),
        ])
    }
}

impl Render for Committed {
    fn table(&self) -> String {
        fields(&[
            ("commit", self.commit.sha.clone()),
            ("branch", self.branch.clone()),
            ("branch created", self.created_branch.to_string()),
            ("attempts", self.attempts.to_string()),
            ("url", or_dash(self.commit.html_url.as_deref())),
        ])
    }
}

impl Render for Revoked {
    fn table(&self) -> String {
        fields(&[
            ("revoked", self.revoked.to_string()),
            ("pending", self.pending.to_string()),
        ])
    }
}

impl Render for ReconcileSummary {
    fn table(&self) -> String {
        let c = &self.changed;
        let changed: Vec<String> = [
            ("created", c.created),
            ("deleted", c.deleted),
            ("suspended", c.suspended),
            ("unsuspended", c.unsuspended),
            ("permissions", c.permissions),
            ("repository_selection", c.repository_selection),
            ("renamed", c.renamed),
        ]
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| format!("{k}={n}"))
        .collect();
        fields(&[
            ("deliveries seen", self.deliveries_seen.to_string()),
            ("deliveries redelivered", self.deliveries_redelivered.to_string()),
            ("installations checked", self.installations_checked.to_string()),
            (
                "changed",
                if changed.is_empty() {
                    "nothing".into()
                } else {
                    changed.join(", ")
                },
            ),
            ("repairs published", self.repairs_published.to_string()),
            ("github requests", self.github_requests.to_string()),
            ("sweep finished", self.sweep_finished.to_string()),
            ("pass finished", self.pass_finished.to_string()),
            ("pass", self.pass.to_string()),
            ("next page", or_dash(self.next_page)),
            (
                "stopped",
                self.stopped
                    .map(|s| serde_json::to_value(s).unwrap().as_str().unwrap_or_default().to_owned())
                    .unwrap_or_else(|| "no (done)".into()),
            ),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vended() -> VendResponse {
        VendResponse {
            token: "ghs_abc".into(),
            expires_at: "2030-01-01T00:00:00Z".into(),
            permissions: BTreeMap::from([("contents".into(), "read".into())]),
            repository_selection: "selected".into(),
            repositories: None,
        }
    }

    #[test]
    fn a_token_prints_bare_or_whole() {
        assert_eq!(render(&vended(), Output::Table), "ghs_abc");
        let json: serde_json::Value = serde_json::from_str(&render(&vended(), Output::Json)).unwrap();
        assert_eq!(json["permissions"]["contents"], "read");
        assert_eq!(json["token"], "ghs_abc");
    }

    #[test]
    fn tables_show_what_matters() {
        let links = AccountInstallations {
            account_id: "team-a".into(),
            installations: vec![LinkedInstallation {
                installation: InstallationView {
                    id: 7,
                    account: InstallationAccount {
                        id: 1,
                        login: "octo-org".into(),
                        kind: "Organization".into(),
                    },
                    repository_selection: "all".into(),
                    permissions: BTreeMap::from([("contents".into(), "write".into())]),
                    status: InstallationStatus::Active,
                },
                policy: LinkPolicy {
                    repositories: Some(vec!["web".into()]),
                    permissions: None,
                },
            }],
        };
        let text = render(&links, Output::Table);
        let reachable = ReachableList {
            installations: vec![ReachableInstallation {
                installation: links.installations[0].installation.clone(),
                linked_accounts: vec!["team-a".into(), "team-b".into()],
            }],
        };
        let reach = render(&reachable, Output::Table);
        assert!(
            reach.contains("LINKED TO") && reach.contains("team-a, team-b"),
            "{reach}"
        );
        for expected in [
            "7",
            "octo-org",
            "active",
            "contents=write",
            "repos: web; permissions: all",
        ] {
            assert!(text.contains(expected), "{expected} not in\n{text}");
        }
        let empty = AccountInstallations {
            account_id: "team-b".into(),
            installations: vec![],
        };
        assert_eq!(render(&empty, Output::Table), "no installation is linked to team-b");
        let revoked = render(&Revoked { revoked: 2, pending: 1 }, Output::Table);
        assert!(revoked.contains("revoked") && revoked.contains('2'), "{revoked}");
        assert_eq!(
            policy(&LinkPolicy {
                repositories: None,
                permissions: Some(BTreeMap::from([("issues".into(), PermissionLevel::Read)]))
            }),
            "repos: all; permissions: issues=read"
        );
    }
}
