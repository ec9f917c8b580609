//! AES-256-GCM sealing of tokens at rest. The associated data binds each
//! ciphertext to the item (and field) it was written to, so a sealed token
//! copied into another item, or into another field of the same item, does
//! not open.

use aes_gcm::aead::{Aead, KeyInit, OsRng, Payload};
use aes_gcm::{AeadCore, Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};

const NONCE_LEN: usize = 12;
/// A version prefix leaves room for another algorithm or key id later.
const PREFIX: &str = "v1.";

#[derive(Clone)]
pub struct TokenSealer {
    cipher: Aes256Gcm,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("token_encryption_key must be base64 of exactly 32 bytes")]
    BadKey,
    #[error("sealed value is malformed or was not sealed for this item")]
    Unseal,
}

impl std::fmt::Debug for TokenSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSealer(..)")
    }
}

impl TokenSealer {
    pub fn from_base64_key(key_b64: &str) -> Result<Self, SealError> {
        let key = STANDARD.decode(key_b64.trim()).map_err(|_| SealError::BadKey)?;
        let cipher = Aes256Gcm::new_from_slice(&key).map_err(|_| SealError::BadKey)?;
        Ok(Self { cipher })
    }

    pub fn seal(&self, plaintext: &SecretString, aad: &str) -> String {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let payload = Payload {
            msg: plaintext.expose_secret().as_bytes(),
            aad: aad.as_bytes(),
        };
        // Encryption with a valid key and a fresh nonce cannot fail.
        let ciphertext = self.cipher.encrypt(&nonce, payload).expect("AES-GCM encryption");
        let mut out = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        format!("{PREFIX}{}", STANDARD.encode(out))
    }

    pub fn open(&self, sealed: &str, aad: &str) -> Result<SecretString, SealError> {
        let raw = sealed
            .strip_prefix(PREFIX)
            .and_then(|b64| STANDARD.decode(b64).ok())
            .filter(|raw| raw.len() > NONCE_LEN)
            .ok_or(SealError::Unseal)?;
        let (nonce, ciphertext) = raw.split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| SealError::Unseal)?;
        String::from_utf8(plain)
            .map(SecretString::from)
            .map_err(|_| SealError::Unseal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer() -> TokenSealer {
        TokenSealer::from_base64_key(&STANDARD.encode([7u8; 32])).unwrap()
    }

    #[test]
    fn a_sealed_token_opens_with_the_same_associated_data() {
        let s = sealer();
        let sealed = s.seal(&SecretString::from("ghu_secret"), "USER#a|GITHUB|access");
        assert!(!sealed.contains("ghu_secret"));
        assert_eq!(
            s.open(&sealed, "USER#a|GITHUB|access").unwrap().expose_secret(),
            "ghu_secret"
        );
    }

    #[test]
    fn a_sealed_token_moved_to_another_item_does_not_open() {
        let s = sealer();
        let sealed = s.seal(&SecretString::from("ghu_secret"), "USER#a|GITHUB|access");
        assert_eq!(s.open(&sealed, "USER#b|GITHUB|access").unwrap_err(), SealError::Unseal);
        assert_eq!(s.open(&sealed, "USER#a|GITHUB|refresh").unwrap_err(), SealError::Unseal);
    }

    #[test]
    fn sealing_twice_gives_different_ciphertexts() {
        let s = sealer();
        let t = SecretString::from("x");
        assert_ne!(s.seal(&t, "k"), s.seal(&t, "k"));
    }

    #[test]
    fn tampered_or_truncated_values_do_not_open() {
        let s = sealer();
        let sealed = s.seal(&SecretString::from("token"), "k");
        let mut bytes = sealed.clone().into_bytes();
        let last = bytes.len() - 2;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        assert!(s.open(&String::from_utf8(bytes).unwrap(), "k").is_err());
        assert!(s.open(&sealed[..10], "k").is_err());
        assert!(s.open("v1.", "k").is_err());
        assert!(s.open("plaintext", "k").is_err());
    }

    #[test]
    fn keys_of_the_wrong_length_are_refused() {
        assert_eq!(
            TokenSealer::from_base64_key(&STANDARD.encode([1u8; 16])).unwrap_err(),
            SealError::BadKey
        );
        assert_eq!(
            TokenSealer::from_base64_key("not base64!").unwrap_err(),
            SealError::BadKey
        );
    }
}
