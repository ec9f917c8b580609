//! What stands in front of the broker: a stack's outputs read from a
//! scripted CloudFormation, and the gateway's own refusal as the client reads it.

use super::*;

/// A scripted HTTP server: one connection per answer (content type, body),
/// in order; returns its URL and, once done, every request it was sent.
fn scripted(answers: Vec<(&'static str, String)>) -> (String, std::thread::JoinHandle<Vec<String>>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let mut requests = Vec::new();
        for (content_type, body) in answers {
            let (mut socket, _) = listener.accept().unwrap();
            socket.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            loop {
                let n = socket.read(&mut chunk).unwrap();
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some(at) = text.find("\r\n\r\n") {
                    let length = text[..at]
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse::<usize>().unwrap())
                        })
                        .unwrap_or(0);
                    if buf.len() >= at + 4 + length {
                        break;
                    }
                }
                if n == 0 {
                    break;
                }
            }
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            socket.write_all(answer.as_bytes()).unwrap();
            requests.push(String::from_utf8_lossy(&buf).to_string());
        }
        requests
    });
    (url, handle)
}

/// A CloudFormation endpoint answering DescribeStacks with a stack whose
/// ApiUrl output is `api_url`.
fn cloudformation(api_url: String) -> (String, std::thread::JoinHandle<Vec<String>>) {
    let body = format!(
        "<DescribeStacksResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\">\
         <DescribeStacksResult><Stacks><member>\
         <StackName>gh-app-broker</StackName>\
         <StackId>arn:aws:cloudformation:eu-west-1:000000000000:stack/gh-app-broker/1</StackId>\
         <CreationTime>2026-01-01T00:00:00Z</CreationTime>\
         <StackStatus>CREATE_COMPLETE</StackStatus>\
         <Outputs><member><OutputKey>ApiId</OutputKey><OutputValue>abc</OutputValue></member>\
         <member><OutputKey>ApiUrl</OutputKey><OutputValue>{api_url}</OutputValue></member></Outputs>\
         </member></Stacks></DescribeStacksResult>\
         <ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></DescribeStacksResponse>"
    );
    scripted(vec![("text/xml", body)])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_stack_reads_the_api_url_output() {
    let world = World::start().await;
    world.link("team-a", None).await;
    let (cfn, seen) = cloudformation(world.base.clone());
    let (key, secret) = world.running.iam();
    let id = world.installation.to_string();
    let output = world.cli(
        &[
            "--stack",
            "gh-app-broker",
            "--region",
            "eu-west-1",
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
    );
    assert!(!succeeds(&output).is_empty());
    let request = seen.join().unwrap().remove(0);
    assert!(
        request.contains("Action=DescribeStacks") && request.contains("StackName=gh-app-broker"),
        "{request}"
    );
    assert!(request.contains("/eu-west-1/cloudformation/aws4_request"), "{request}");
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
