//! Naming a token without holding it: what pending revocations, logs and
//! audit records carry instead of the token.

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// The token's hex SHA-256.
pub fn token_sha256(token: &SecretString) -> String {
    hex::encode(Sha256::digest(token.expose_secret().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_is_sha256_in_hex() {
        assert_eq!(
            token_sha256(&SecretString::from("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
