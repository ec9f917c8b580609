//! Credentials the simulator hands out: OAuth codes, user access tokens,
//! single-use refresh tokens and installation tokens, with their generation
//! in GitHub's formats and the log of every secret ever issued.

use std::collections::{BTreeMap, HashMap};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::distr::{Alphanumeric, SampleString};
use rand::RngCore as _;
use sha2::{Digest, Sha256};

/// How long an authorization code stays valid.
pub(crate) const CODE_LIFETIME: i64 = 600;
/// GitHub's refresh tokens live six months.
pub(crate) const REFRESH_TOKEN_LIFETIME: i64 = 15_897_600;
pub(crate) const DEFAULT_USER_TOKEN_LIFETIME: i64 = 28_800;
pub(crate) const DEFAULT_INSTALLATION_TOKEN_LIFETIME: i64 = 3_600;

#[derive(Clone, Debug)]
pub(crate) struct Code {
    pub user_id: u64,
    pub code_challenge: Option<String>,
    pub redirect_uri: Option<String>,
    pub expires_at: i64,
}

#[derive(Clone, Debug)]
pub(crate) struct UserToken {
    pub user_id: u64,
    pub expires_at: i64,
}

#[derive(Clone, Debug)]
pub(crate) struct InstallationToken {
    pub installation_id: u64,
    pub expires_at: i64,
    pub permissions: BTreeMap<String, String>,
    /// `None` when the token reaches every repository of the installation.
    pub repo_ids: Option<Vec<u64>>,
}

/// A freshly issued pair of user credentials.
pub(crate) struct IssuedUserTokens {
    pub access_token: String,
    pub expires_in: i64,
    pub refresh_token: String,
    pub refresh_token_expires_in: i64,
}

/// Every credential currently known. Used codes and refresh tokens are
/// removed, so "used" and "never existed" look the same, as on GitHub.
#[derive(Debug)]
pub(crate) struct Credentials {
    pub codes: HashMap<String, Code>,
    pub access: HashMap<String, UserToken>,
    pub refresh: HashMap<String, UserToken>,
    pub installation: HashMap<String, InstallationToken>,
    pub user_token_lifetime: i64,
    pub installation_token_lifetime: i64,
    /// Every code and token ever issued, in order.
    pub issued: Vec<String>,
}

impl Default for Credentials {
    fn default() -> Self {
        Credentials {
            codes: HashMap::new(),
            access: HashMap::new(),
            refresh: HashMap::new(),
            installation: HashMap::new(),
            user_token_lifetime: DEFAULT_USER_TOKEN_LIFETIME,
            installation_token_lifetime: DEFAULT_INSTALLATION_TOKEN_LIFETIME,
            issued: Vec::new(),
        }
    }
}

fn alphanumeric(len: usize) -> String {
    Alphanumeric.sample_string(&mut rand::rng(), len)
}

/// `ghs_` and 516 base64url characters, like GitHub's stateless tokens.
fn installation_token() -> String {
    let mut bytes = [0u8; 387];
    rand::rng().fill_bytes(&mut bytes);
    format!("ghs_{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// PKCE S256: BASE64URL-NOPAD(SHA256(verifier)).
pub(crate) fn s256_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

impl Credentials {
    fn remember(&mut self, secret: &str) {
        self.issued.push(secret.to_owned());
    }

    pub fn issue_code(
        &mut self,
        user_id: u64,
        code_challenge: Option<&str>,
        redirect_uri: Option<&str>,
        now: i64,
    ) -> String {
        let code = alphanumeric(20).to_ascii_lowercase();
        self.remember(&code);
        let entry = Code {
            user_id,
            code_challenge: code_challenge.map(str::to_owned),
            redirect_uri: redirect_uri.map(str::to_owned),
            expires_at: now + CODE_LIFETIME,
        };
        self.codes.insert(code.clone(), entry);
        code
    }

    /// Takes a code out (single use); `None` if unknown, used or expired.
    pub fn take_code(&mut self, code: &str, now: i64) -> Option<Code> {
        self.codes.remove(code).filter(|c| c.expires_at > now)
    }

    pub fn issue_user_tokens(&mut self, user_id: u64, now: i64) -> IssuedUserTokens {
        let access_token = format!("ghu_{}", alphanumeric(36));
        let refresh_token = format!("ghr_{}", alphanumeric(76));
        self.remember(&access_token);
        self.remember(&refresh_token);
        let expires_in = self.user_token_lifetime;
        self.access.insert(
            access_token.clone(),
            UserToken {
                user_id,
                expires_at: now + expires_in,
            },
        );
        self.refresh.insert(
            refresh_token.clone(),
            UserToken {
                user_id,
                expires_at: now + REFRESH_TOKEN_LIFETIME,
            },
        );
        IssuedUserTokens {
            access_token,
            expires_in,
            refresh_token,
            refresh_token_expires_in: REFRESH_TOKEN_LIFETIME,
        }
    }

    /// Takes a refresh token out (single use); `None` if unknown, used,
    /// revoked or expired.
    pub fn take_refresh_token(&mut self, token: &str, now: i64) -> Option<u64> {
        self.refresh
            .remove(token)
            .filter(|t| t.expires_at > now)
            .map(|t| t.user_id)
    }

    /// The user behind a valid (known, unexpired) access token.
    pub fn user_for_access_token(&self, token: &str, now: i64) -> Option<u64> {
        self.access.get(token).filter(|t| t.expires_at > now).map(|t| t.user_id)
    }

    /// Kills every access and refresh token of the user, and pending codes.
    pub fn revoke_user(&mut self, user_id: u64) {
        self.access.retain(|_, t| t.user_id != user_id);
        self.refresh.retain(|_, t| t.user_id != user_id);
        self.codes.retain(|_, c| c.user_id != user_id);
    }

    pub fn expire_user_access_tokens(&mut self, user_id: u64, now: i64) {
        for t in self.access.values_mut().filter(|t| t.user_id == user_id) {
            t.expires_at = t.expires_at.min(now);
        }
    }

    pub fn live_access_tokens(&self, user_id: u64, now: i64) -> Vec<String> {
        let mut tokens: Vec<String> = self
            .access
            .iter()
            .filter(|(_, t)| t.user_id == user_id && t.expires_at > now)
            .map(|(k, _)| k.clone())
            .collect();
        tokens.sort();
        tokens
    }

    pub fn issue_installation_token(
        &mut self,
        installation_id: u64,
        permissions: BTreeMap<String, String>,
        repo_ids: Option<Vec<u64>>,
        now: i64,
    ) -> (String, i64) {
        let token = installation_token();
        self.remember(&token);
        let expires_at = now + self.installation_token_lifetime;
        let entry = InstallationToken {
            installation_id,
            expires_at,
            permissions,
            repo_ids,
        };
        self.installation.insert(token.clone(), entry);
        (token, expires_at)
    }

    pub fn installation_token(&self, token: &str, now: i64) -> Option<&InstallationToken> {
        self.installation.get(token).filter(|t| t.expires_at > now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let mut c = Credentials::default();
        let t = c.issue_user_tokens(1, 0);
        assert!(t.access_token.starts_with("ghu_") && t.access_token.len() == 40);
        assert!(t.refresh_token.starts_with("ghr_") && t.refresh_token.len() == 80);
        let (ghs, _) = c.issue_installation_token(5, BTreeMap::new(), None, 0);
        assert!(ghs.starts_with("ghs_") && ghs.len() == 520);
        assert_eq!(c.issued.len(), 3);
    }

    #[test]
    fn pkce_rfc7636_example() {
        assert_eq!(
            s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn single_use() {
        let mut c = Credentials::default();
        let code = c.issue_code(7, None, None, 100);
        assert!(c.take_code(&code, 100).is_some());
        assert!(c.take_code(&code, 100).is_none());
        let expired = c.issue_code(7, None, None, 100);
        assert!(c.take_code(&expired, 100 + CODE_LIFETIME).is_none());
        let t = c.issue_user_tokens(7, 0);
        assert_eq!(c.take_refresh_token(&t.refresh_token, 1), Some(7));
        assert_eq!(c.take_refresh_token(&t.refresh_token, 1), None);
    }
}
