//! broker-client against the runner: every route, then every error class.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_every_route_succeeds() {
    let world = World::start().await;
    let client = world.client();
    let id = world.installation;

    let connection = client.connection().await.unwrap();
    assert!(connection.connected);
    assert_eq!(connection.login.as_deref(), Some("octocat"));

    let policy = LinkPolicy {
        repositories: None,
        permissions: Some(Permissions::from([
            ("contents".to_owned(), PermissionLevel::Write),
            ("administration".to_owned(), PermissionLevel::Write),
            ("issues".to_owned(), PermissionLevel::Read),
        ])),
    };
    let linked = world.link("team-a", Some(&policy)).await;
    assert!(linked.linked);
    assert_eq!(linked.installation_id, id);
    // PUT again: the same link.
    assert!(client.link("team-a", id, Some(&policy)).await.unwrap().linked);

    let reachable = client.reachable_installations().await.unwrap();
    let mine = reachable
        .installations
        .iter()
        .find(|i| i.installation.id == id)
        .unwrap();
    assert_eq!(mine.linked_accounts, ["team-a"]);

    let links = client.account_installations("team-a").await.unwrap();
    assert_eq!(links.installations.len(), 1);
    assert_eq!(links.installations[0].installation.account.login, "octo-org");
    assert_eq!(links.installations[0].policy.permissions, policy.permissions);

    let vended = client
        .installation_token("team-a", id, &VendRequest::default())
        .await
        .unwrap();
    assert!(!vended.token.is_empty());
    assert_eq!(vended.permissions.get("issues").map(String::as_str), Some("read"));
    let again = client
        .installation_token("team-a", id, &VendRequest::default())
        .await
        .unwrap();
    assert_eq!(again.token, vended.token, "a cached token is reused");
    let by_owner = client
        .owner_token(
            "team-a",
            &OwnerVendRequest {
                owner: "OCTO-ORG".into(),
                scope: VendRequest {
                    repositories: Some(vec!["web".into()]),
                    permissions: Some(Permissions::from([("contents".to_owned(), PermissionLevel::Read)])),
                    ..Default::default()
                },
            },
        )
        .await
        .unwrap();
    assert_eq!(by_owner.repositories.as_ref().unwrap()[0].name, "web");
    assert_eq!(by_owner.permissions.get("contents").map(String::as_str), Some("read"));

    let user = client.user_token("alice").await.unwrap();
    assert_eq!(user.github_user.login, "octocat");

    let repo = client
        .create_repository(
            "team-a",
            &CreateRepository {
                owner: "octo-org".into(),
                name: "made-by-client".into(),
                auto_init: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(repo.full_name, "octo-org/made-by-client");
    let committed = client
        .commit_files(
            "team-a",
            &CommitFiles {
                owner: "octo-org".into(),
                repo: "web".into(),
                branch: "client-branch".into(),
                message: "from broker-client".into(),
                files: vec![CommitFile {
                    path: "hello.txt".into(),
                    content: "hello\n".into(),
                }],
            },
        )
        .await
        .unwrap();
    assert_eq!(committed.branch, "client-branch");
    assert_eq!(committed.commit.sha.len(), 40);

    let narrowed = client
        .change_policy(
            "team-a",
            id,
            &LinkPolicy {
                repositories: Some(vec!["web".into()]),
                permissions: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(narrowed.policy.unwrap().repositories.unwrap(), ["web"]);

    let trail = client
        .audit(
            "team-a",
            &AuditQuery {
                action: Some(AuditAction::InstallationToken),
                limit: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(trail.records.len(), 1);
    assert_eq!(trail.records[0].action, AuditAction::InstallationToken);
    assert!(trail.cursor.is_some(), "more than one vend was recorded");
    let next = client
        .audit(
            "team-a",
            &AuditQuery {
                action: Some(AuditAction::InstallationToken),
                cursor: trail.cursor.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(!next.records.is_empty());

    // A token under the new policy, then the incident: every token revoked.
    client
        .installation_token("team-a", id, &VendRequest::default())
        .await
        .unwrap();
    let revoked = client.revoke_account_tokens("team-a").await.unwrap();
    assert!(revoked.revoked >= 1, "{revoked:?}");

    let summary = client.reconcile().await.unwrap();
    assert!(summary.installations_checked >= 1, "{summary:?}");

    let unlinked = client.unlink("team-a", id).await.unwrap();
    assert!(!unlinked.linked);
    assert!(!client.unlink("team-a", id).await.unwrap().linked, "idempotent");

    let gone = client.disconnect().await.unwrap();
    assert!(!gone.connected);
    assert!(!client.connection().await.unwrap().connected);
    world.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_errors_are_typed_and_classed() {
    let world = World::start().await;
    let client = world.client();
    let id = world.installation;
    world.link("team-a", None).await;

    // Auth: no credentials at all; a wrong secret (the gateway's refusal);
    // no JWT; a JWT the authorizer does not know; not a member.
    let unsigned = Client::builder(world.base.clone()).build().unwrap();
    let e = unsigned.reconcile().await.unwrap_err();
    assert!(matches!(e, Error::Credentials(_)), "{e:?}");
    assert_eq!(e.class(), ErrorClass::Auth);
    let (key, _) = world.running.iam();
    let wrong = Client::builder(world.base.clone())
        .static_credentials(key, "not-the-secret", None)
        .region("eu-west-1")
        .build()
        .unwrap();
    let e = wrong
        .installation_token("team-a", id, &VendRequest::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Forbidden { .. }), "{e:?}");
    assert_eq!((e.class(), e.status()), (ErrorClass::Auth, Some(403)));
    let e = unsigned.account_installations("team-a").await.unwrap_err();
    assert!(matches!(e, Error::Credentials(_)), "{e:?}");
    let e = client.with_jwt("not.a.jwt").connection().await.unwrap_err();
    assert_eq!(e.class(), ErrorClass::Auth, "{e:?}");
    let e = client
        .with_jwt(world.bob.clone())
        .account_installations("team-a")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(&ErrorCode::NotAccountMember), "{e:?}");
    assert_eq!(e.class(), ErrorClass::Auth);
    let e = client
        .installation_token("team-b", id, &VendRequest::default())
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(&ErrorCode::InstallationNotLinked), "{e:?}");

    // Not found: a user who never connected; a policy change of no link.
    let e = client.user_token("bob").await.unwrap_err();
    assert_eq!(e.code(), Some(&ErrorCode::GithubNotConnected), "{e:?}");
    assert_eq!(e.class(), ErrorClass::NotFound);
    let e = client
        .change_policy("team-b", id, &LinkPolicy::default())
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(&ErrorCode::InstallationNotLinked), "{e:?}");
    assert_eq!(e.class(), ErrorClass::NotFound);

    // Invalid: a min TTL out of range; a policy beyond the installation.
    let scope = VendRequest {
        min_ttl_seconds: Some(5000),
        ..Default::default()
    };
    let e = client.installation_token("team-a", id, &scope).await.unwrap_err();
    assert!(
        matches!(
            &e,
            Error::Api {
                status: 400,
                code: ErrorCode::InvalidMinTtl,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.class(), ErrorClass::Invalid);
    let beyond = LinkPolicy {
        repositories: None,
        permissions: Some(Permissions::from([("secrets".to_owned(), PermissionLevel::Write)])),
    };
    let e = client.link("team-b", id, Some(&beyond)).await.unwrap_err();
    assert_eq!(e.code(), Some(&ErrorCode::PolicyBeyondInstallation), "{e:?}");
    assert_eq!(e.class(), ErrorClass::Invalid);

    // Conflict: GitHub refuses the user token's refresh.
    world.refuse_refreshes();
    let e = client.user_token("alice").await.unwrap_err();
    assert_eq!(e.code(), Some(&ErrorCode::ReauthorizationRequired), "{e:?}");
    assert_eq!(e.class(), ErrorClass::Conflict);
    world.sim().clear_faults();

    // Unavailable: GitHub rate-limits the mint for an hour.
    world.rate_limit_mints();
    let fresh = VendRequest {
        repositories: Some(vec!["api".into()]),
        ..Default::default()
    };
    let e = client.installation_token("team-a", id, &fresh).await.unwrap_err();
    assert_eq!(e.class(), ErrorClass::Unavailable, "{e:?}");
    world.sim().clear_faults();

    // Transport: nothing listens (retried, then given up).
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let nowhere = Client::builder(format!("http://127.0.0.1:{port}"))
        .jwt("x")
        .retry(RetryPolicy {
            base_delay: Duration::from_millis(10),
            ..RetryPolicy::default()
        })
        .build()
        .unwrap();
    let e = nowhere.connection().await.unwrap_err();
    assert!(matches!(e, Error::Transport(_)), "{e:?}");
    assert_eq!(e.class(), ErrorClass::Transport);
    world.running.stop().await;
}
