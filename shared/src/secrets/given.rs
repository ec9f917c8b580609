//! A secret given directly: the local runner's, the fuzz targets'.

use async_trait::async_trait;
use secrecy::SecretString;

use super::{SecretError, SecretSource};

pub struct StaticSecret(pub SecretString);

#[async_trait]
impl SecretSource for StaticSecret {
    async fn fetch(&self) -> Result<SecretString, SecretError> {
        Ok(self.0.clone())
    }
}
