//! JSON renderings of simulated objects in the shapes GitHub's REST API
//! returns: simple and private users, repositories, installations, the app.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Map, Value};

use crate::clock::iso8601;
use crate::world::{Account, Installation, Repo, World};
use crate::SimConfig;

/// GitHub's legacy global node id: base64 of `"0{len}:{Type}{id}"`.
pub(crate) fn node_id(kind: &str, id: impl std::fmt::Display) -> String {
    STANDARD.encode(format!("0{}:{kind}{id}", kind.len()))
}

/// The "simple user" object embedded in installations, repositories, etc.
pub(crate) fn simple_user(account: &Account, base: &str) -> Value {
    let login = &account.login;
    let kind = account.kind.as_str();
    let api = format!("{base}/users/{login}");
    json!({
        "login": login,
        "id": account.id,
        "node_id": node_id(kind, account.id),
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{}?v=4", account.id),
        "gravatar_id": "",
        "url": api,
        "html_url": format!("https://github.com/{login}"),
        "followers_url": format!("{api}/followers"),
        "following_url": format!("{api}/following{{/other_user}}"),
        "gists_url": format!("{api}/gists{{/gist_id}}"),
        "starred_url": format!("{api}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{api}/subscriptions"),
        "organizations_url": format!("{api}/orgs"),
        "repos_url": format!("{api}/repos"),
        "events_url": format!("{api}/events{{/privacy}}"),
        "received_events_url": format!("{api}/received_events"),
        "type": kind,
        "user_view_type": "public",
        "site_admin": false,
    })
}

/// An organisation as webhooks show a renamed target account: its org URLs
/// rather than a user's.
pub(crate) fn organization(account: &Account, base: &str) -> Value {
    let login = &account.login;
    let api = format!("{base}/orgs/{login}");
    json!({
        "login": login,
        "id": account.id,
        "node_id": node_id("Organization", account.id),
        "url": api,
        "repos_url": format!("{api}/repos"),
        "events_url": format!("{api}/events"),
        "hooks_url": format!("{api}/hooks"),
        "issues_url": format!("{api}/issues"),
        "members_url": format!("{api}/members{{/member}}"),
        "public_members_url": format!("{api}/public_members{{/member}}"),
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{}?v=4", account.id),
        "description": "",
        "html_url": format!("https://github.com/{login}"),
        "type": "Organization",
        "site_admin": false,
    })
}

/// `GET /user/memberships/orgs/{org}`: the user's membership of `org`.
pub(crate) fn org_membership(org: &Account, user: &Account, role: &str, state: &str, base: &str) -> Value {
    let org_url = format!("{base}/orgs/{}", org.login);
    json!({
        "url": format!("{org_url}/memberships/{}", user.login),
        "state": state,
        "role": role,
        "organization_url": org_url,
        "organization": organization(org, base),
        "user": simple_user(user, base),
        "permissions": {"can_create_repository": state == "active"},
    })
}

/// A repository as webhook payloads list them (`repositories`,
/// `repositories_added`, ...): only its identity.
pub(crate) fn mini_repo(repo: &Repo, world: &World) -> Value {
    let owner = world
        .accounts
        .get(&repo.owner_id)
        .map(|o| o.login.as_str())
        .unwrap_or("ghost");
    json!({
        "id": repo.id,
        "node_id": node_id("Repository", repo.id),
        "name": repo.name,
        "full_name": format!("{owner}/{}", repo.name),
        "private": repo.private,
    })
}

/// The authenticated user, as `GET /user` returns it.
pub(crate) fn private_user(account: &Account, world: &World, base: &str) -> Value {
    let mut value = simple_user(account, base);
    let public_repos = world
        .repos
        .values()
        .filter(|r| r.owner_id == account.id && !r.private)
        .count();
    let private_repos = world
        .repos
        .values()
        .filter(|r| r.owner_id == account.id && r.private)
        .count();
    let extra = json!({
        "name": null,
        "company": null,
        "blog": "",
        "location": null,
        "email": null,
        "hireable": null,
        "bio": null,
        "twitter_username": null,
        "notification_email": null,
        "public_repos": public_repos,
        "public_gists": 0,
        "followers": 0,
        "following": 0,
        "created_at": iso8601(account.created_at),
        "updated_at": iso8601(account.created_at),
        "private_gists": 0,
        "disk_usage": 0,
        "collaborators": 0,
        // The authenticated user sees their own account in full.
        "user_view_type": "private",
        "total_private_repos": private_repos,
        "owned_private_repos": private_repos,
        "two_factor_authentication": true,
    });
    merge(&mut value, extra);
    value
}

fn merge(into: &mut Value, from: Value) {
    if let (Value::Object(into), Value::Object(from)) = (into, from) {
        into.extend(from);
    }
}

/// A repository, with every field GitHub's `full-repository` schema
/// requires (the `*_url` templates in GitHub's own forms; counts zero).
pub(crate) fn repo(repo: &Repo, world: &World, base: &str) -> Value {
    let owner = world.accounts.get(&repo.owner_id);
    let owner_login = owner.map(|o| o.login.as_str()).unwrap_or("ghost");
    let full_name = format!("{owner_login}/{}", repo.name);
    let api = format!("{base}/repos/{full_name}");
    let mut value = json!({
        "id": repo.id,
        "node_id": node_id("Repository", repo.id),
        "name": repo.name,
        "full_name": full_name,
        "private": repo.private,
        "owner": owner.map(|o| simple_user(o, base)).unwrap_or(Value::Null),
        "html_url": format!("https://github.com/{full_name}"),
        "description": repo.description,
        "fork": false,
        "url": api,
        // The simulator speaks no git protocol; these are GitHub's own forms.
        "clone_url": format!("https://github.com/{full_name}.git"),
        "git_url": format!("git://github.com/{full_name}.git"),
        "ssh_url": format!("git@github.com:{full_name}.git"),
        "svn_url": format!("https://github.com/{full_name}"),
        "mirror_url": null,
        "homepage": null,
        "language": null,
        "license": null,
        "visibility": if repo.private { "private" } else { "public" },
        "default_branch": "main",
        "archived": false,
        "disabled": false,
        "has_issues": true,
        "has_projects": true,
        "has_wiki": true,
        "has_pages": false,
        "has_downloads": true,
        "has_discussions": false,
        "forks": 0,
        "forks_count": 0,
        "open_issues": 0,
        "open_issues_count": 0,
        "stargazers_count": 0,
        "watchers": 0,
        "watchers_count": 0,
        "network_count": 0,
        "subscribers_count": 0,
        "size": 0,
        "created_at": iso8601(repo.created_at),
        "updated_at": iso8601(repo.created_at),
        "pushed_at": iso8601(repo.created_at),
    });
    let urls = [
        ("archive_url", "/{archive_format}{/ref}"),
        ("assignees_url", "/assignees{/user}"),
        ("blobs_url", "/git/blobs{/sha}"),
        ("branches_url", "/branches{/branch}"),
        ("collaborators_url", "/collaborators{/collaborator}"),
        ("comments_url", "/comments{/number}"),
        ("commits_url", "/commits{/sha}"),
        ("compare_url", "/compare/{base}...{head}"),
        ("contents_url", "/contents/{+path}"),
        ("contributors_url", "/contributors"),
        ("deployments_url", "/deployments"),
        ("downloads_url", "/downloads"),
        ("events_url", "/events"),
        ("forks_url", "/forks"),
        ("git_commits_url", "/git/commits{/sha}"),
        ("git_refs_url", "/git/refs{/sha}"),
        ("git_tags_url", "/git/tags{/sha}"),
        ("hooks_url", "/hooks"),
        ("issue_comment_url", "/issues/comments{/number}"),
        ("issue_events_url", "/issues/events{/number}"),
        ("issues_url", "/issues{/number}"),
        ("keys_url", "/keys{/key_id}"),
        ("labels_url", "/labels{/name}"),
        ("languages_url", "/languages"),
        ("merges_url", "/merges"),
        ("milestones_url", "/milestones{/number}"),
        ("notifications_url", "/notifications{?since,all,participating}"),
        ("pulls_url", "/pulls{/number}"),
        ("releases_url", "/releases{/id}"),
        ("stargazers_url", "/stargazers"),
        ("statuses_url", "/statuses/{sha}"),
        ("subscribers_url", "/subscribers"),
        ("subscription_url", "/subscription"),
        ("tags_url", "/tags"),
        ("teams_url", "/teams"),
        ("trees_url", "/git/trees{/sha}"),
    ];
    let fields = value.as_object_mut().expect("an object");
    for (name, suffix) in urls {
        fields.insert(name.to_owned(), Value::String(format!("{api}{suffix}")));
    }
    value
}

pub(crate) fn permissions(perms: &std::collections::BTreeMap<String, String>) -> Value {
    Value::Object(
        perms
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect::<Map<String, Value>>(),
    )
}

/// An installation, as `GET /user/installations` and `GET /app/installations/{id}` return it.
pub(crate) fn installation(inst: &Installation, world: &World, config: &SimConfig, base: &str) -> Value {
    let account = world.accounts.get(&inst.account_id);
    let kind = account.map(|a| a.kind.as_str()).unwrap_or("User");
    let suspended_by = inst
        .suspended_by
        .and_then(|id| world.accounts.get(&id))
        .map(|a| simple_user(a, base))
        .unwrap_or(Value::Null);
    json!({
        "id": inst.id,
        "client_id": config.client_id,
        "account": account.map(|a| simple_user(a, base)).unwrap_or(Value::Null),
        "repository_selection": if inst.selected.is_some() { "selected" } else { "all" },
        "access_tokens_url": format!("{base}/app/installations/{}/access_tokens", inst.id),
        "repositories_url": format!("{base}/installation/repositories"),
        "html_url": format!("https://github.com/settings/installations/{}", inst.id),
        "app_id": config.app_id,
        "app_slug": config.app_slug,
        "target_id": inst.account_id,
        "target_type": kind,
        "permissions": permissions(&inst.permissions),
        "events": [],
        "created_at": iso8601(inst.created_at),
        "updated_at": iso8601(inst.updated_at),
        "single_file_name": null,
        "has_multiple_single_files": false,
        "single_file_paths": [],
        "suspended_by": suspended_by,
        "suspended_at": inst.suspended_at.map(iso8601),
    })
}

/// The app, as `GET /app` returns it. Its owner is a fixed organisation that
/// is not part of the simulated world.
pub(crate) fn app(config: &SimConfig, base: &str, created_at: i64, installations: usize) -> Value {
    let owner = Account {
        id: 1,
        login: "github-sim".to_owned(),
        kind: crate::world::AccountKind::Organization,
        members: Vec::new(),
        admins: Vec::new(),
        invited: Default::default(),
        created_at,
    };
    json!({
        "id": config.app_id,
        "slug": config.app_slug,
        "node_id": node_id("App", config.app_id),
        "client_id": config.client_id,
        "owner": simple_user(&owner, base),
        "name": config.app_slug,
        "description": "",
        "external_url": format!("https://github.com/apps/{}", config.app_slug),
        "html_url": format!("https://github.com/apps/{}", config.app_slug),
        "created_at": iso8601(created_at),
        "updated_at": iso8601(created_at),
        "permissions": {},
        "events": [],
        "installations_count": installations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_match_github_legacy_format() {
        assert_eq!(node_id("User", 1), "MDQ6VXNlcjE=");
        assert_eq!(node_id("Organization", 1), "MDEyOk9yZ2FuaXphdGlvbjE=");
    }
}
