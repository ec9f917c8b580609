//! What stands in front of the broker: a stack's outputs read from
//! moto's CloudFormation, and the gateway's own refusal as the client reads it.

use super::*;

/// moto's CloudFormation (from the venv scripts/test-tools fills), with
/// two stacks in eu-west-1: `gh-app-broker`, whose `ApiUrl` output is
/// `api_url`, and `half-made`, which has no such output. Returns its endpoint.
async fn cloudformation(api_url: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let endpoint = dynamo_proxy::moto::start_for_process(&root).expect("moto starts");
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("eu-west-1"))
        .endpoint_url(&endpoint)
        .credentials_provider(aws_sdk_cloudformation::config::Credentials::new(
            "AKIDSTACKMAKER",
            "secret",
            None,
            None,
            "test",
        ))
        .load()
        .await;
    let cfn = aws_sdk_cloudformation::Client::new(&config);
    for (stack, outputs) in [
        (
            "gh-app-broker",
            json!({"ApiId": {"Value": "abc"}, "ApiUrl": {"Value": api_url}}),
        ),
        ("half-made", json!({"ApiId": {"Value": "abc"}})),
    ] {
        let template = json!({
            "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
            "Outputs": outputs,
        });
        cfn.create_stack()
            .stack_name(stack)
            .template_body(template.to_string())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{stack}: {e:?}"));
    }
    endpoint
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_stack_reads_the_api_url_output_in_the_stack_s_region() {
    let world = World::start().await;
    world.link("team-a", None).await;
    let cfn = cloudformation(&world.base).await;
    let (key, secret) = world.running.iam();
    let id = world.installation.to_string();
    let run = |stack: &str, region: &str| {
        world.cli(
            &[
                "--stack",
                stack,
                "--region",
                region,
                "token",
                "--account",
                "team-a",
                "--installation",
                &id,
            ],
            &[
                ("AWS_ACCESS_KEY_ID", key),
                ("AWS_SECRET_ACCESS_KEY", secret),
                ("AWS_ENDPOINT_URL_CLOUDFORMATION", &cfn),
            ],
        )
    };
    // The stack's URL, then the token route signed for the same region.
    assert!(!succeeds(&run("gh-app-broker", "eu-west-1")).is_empty());
    // Stacks are regional: the same name elsewhere is not there.
    fails(&run("gh-app-broker", "us-east-1"), 1, "stack gh-app-broker");
    fails(
        &run("half-made", "eu-west-1"),
        1,
        "stack half-made has no ApiUrl output",
    );
    world.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runner_s_refusal_of_an_unsigned_request_reads_as_forbidden() {
    let world = World::start().await;
    for bearer in [None, Some(world.alice.as_str())] {
        let mut request = reqwest::Client::new().post(format!("{}/internal/reconcile", world.base));
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let body = response.bytes().await.unwrap();
        let e = Error::from_body(status, &body);
        assert!(matches!(e, Error::Forbidden { .. }), "{e:?}");
        assert_eq!(e.class(), ErrorClass::Auth);
    }
    let unsigned = world.cli(
        &["--url", world.base.as_str(), "reconcile"],
        &[("AWS_REGION", "eu-west-1")],
    );
    fails(&unsigned, 3, "credentials");
    world.running.stop().await;
}
