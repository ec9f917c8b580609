//! The app secret in AWS Secrets Manager, read with the AWS SDK.

use async_trait::async_trait;
use secrecy::SecretString;

use super::{SecretError, SecretSource};

pub struct SecretsManagerSource {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
}

impl SecretsManagerSource {
    pub fn new(client: aws_sdk_secretsmanager::Client, secret_id: String) -> Self {
        Self { client, secret_id }
    }
}

#[async_trait]
impl SecretSource for SecretsManagerSource {
    async fn fetch(&self) -> Result<SecretString, SecretError> {
        let out = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .send()
            .await
            .map_err(|e| SecretError::Fetch(aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string()))?;
        out.secret_string
            .map(SecretString::from)
            .ok_or(SecretError::Fetch("the secret has no string value".into()))
    }
}
