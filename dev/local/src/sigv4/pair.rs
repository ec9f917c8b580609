//! The runner's one key pair: from the environment, or made once and kept
//! in `<data-dir>/local-iam.env` (mode 0600) so that it survives restarts.

use std::path::{Path, PathBuf};

use rand::Rng;

use super::{ACCESS_KEY_VAR, FILE_NAME, SECRET_KEY_VAR};

/// The runner's one IAM key pair.
#[derive(Clone)]
pub struct LocalIam {
    access_key_id: String,
    secret_access_key: String,
}

/// Where the pair came from, for the banner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Environment,
    /// Read from this file (kept from an earlier start).
    Kept(PathBuf),
    /// Made now and written to this file.
    Made(PathBuf),
}

const KEY_ID_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const SECRET_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn random_from(alphabet: &[u8], n: usize) -> String {
    let mut rng = rand::rng();
    (0..n)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
        .collect()
}

/// `KEY=value` lines; `#` comments and blank lines skipped.
fn parse_env_file(text: &str) -> (Option<String>, Option<String>) {
    let (mut id, mut secret) = (None, None);
    for line in text.lines().map(str::trim) {
        if let Some((key, value)) = line.split_once('=') {
            let value = value.trim().trim_matches('"').to_owned();
            match key.trim() {
                ACCESS_KEY_VAR => id = Some(value),
                SECRET_KEY_VAR => secret = Some(value),
                _ => {}
            }
        }
    }
    (id, secret)
}

impl LocalIam {
    pub fn new(access_key_id: impl Into<String>, secret_access_key: impl Into<String>) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
        }
    }

    /// A new pair shaped like AWS's: a 20-character access key id starting
    /// `AKIA`, a 40-character secret.
    pub fn generate() -> Self {
        Self::new(
            format!("AKIA{}", random_from(KEY_ID_ALPHABET, 16)),
            random_from(SECRET_ALPHABET, 40),
        )
    }

    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    pub fn secret_access_key(&self) -> &str {
        &self.secret_access_key
    }

    /// The pair kept in `file`, if there is one.
    pub fn read(file: &Path) -> Result<Option<Self>, String> {
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("{} cannot be read: {e}", file.display())),
        };
        match parse_env_file(&text) {
            (Some(id), Some(secret)) if !id.is_empty() && !secret.is_empty() => Ok(Some(Self::new(id, secret))),
            _ => Err(format!(
                "{} does not hold {ACCESS_KEY_VAR} and {SECRET_KEY_VAR}: fix it or delete it for a new pair",
                file.display()
            )),
        }
    }

    /// Writes the pair to `file`, readable by its owner only.
    pub fn write(&self, file: &Path) -> Result<(), String> {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let text = format!(
            "# broker-local's IAM key pair for the internal routes (SigV4, service execute-api).\n\
             {ACCESS_KEY_VAR}={}\n{SECRET_KEY_VAR}={}\n",
            self.access_key_id, self.secret_access_key
        );
        let written = options.open(file).and_then(|mut f| {
            // An existing file keeps its mode through open: set it too.
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
            }
            f.write_all(text.as_bytes())
        });
        written.map_err(|e| format!("cannot write {}: {e}", file.display()))
    }

    /// The pair from the environment (`from_env`: the two variables, as
    /// read) or else the one kept in `data_dir`, made and kept there if
    /// there is none yet.
    pub fn load_or_create(
        from_env: (Option<String>, Option<String>),
        data_dir: &Path,
    ) -> Result<(Self, Origin), String> {
        let nonempty = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
        match (nonempty(from_env.0), nonempty(from_env.1)) {
            (Some(id), Some(secret)) => return Ok((Self::new(id.trim(), secret.trim()), Origin::Environment)),
            (None, None) => {}
            _ => {
                return Err(format!(
                    "{ACCESS_KEY_VAR} and {SECRET_KEY_VAR} are set together or not at all"
                ))
            }
        }
        let file = data_dir.join(FILE_NAME);
        if let Some(kept) = Self::read(&file)? {
            return Ok((kept, Origin::Kept(file)));
        }
        let made = Self::generate();
        made.write(&file)?;
        Ok((made, Origin::Made(file)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generated_pair_is_kept_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let (made, origin) = LocalIam::load_or_create((None, None), dir.path()).unwrap();
        let file = dir.path().join(FILE_NAME);
        assert_eq!(origin, Origin::Made(file.clone()));
        assert_eq!(made.access_key_id().len(), 20);
        assert!(made.access_key_id().starts_with("AKIA"));
        assert!(made
            .access_key_id()
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
        assert_eq!(made.secret_access_key().len(), 40);
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.contains(&format!("{ACCESS_KEY_VAR}={}\n", made.access_key_id())),
            "{text}"
        );
        assert!(
            text.contains(&format!("{SECRET_KEY_VAR}={}\n", made.secret_access_key())),
            "{text}"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }

        let (kept, origin) = LocalIam::load_or_create((None, None), dir.path()).unwrap();
        assert_eq!(origin, Origin::Kept(file));
        assert_eq!(
            (kept.access_key_id(), kept.secret_access_key()),
            (made.access_key_id(), made.secret_access_key())
        );

        let (given, origin) =
            LocalIam::load_or_create((Some("AKIAGIVEN".into()), Some("secret".into())), dir.path()).unwrap();
        assert_eq!((given.access_key_id(), origin), ("AKIAGIVEN", Origin::Environment));
        assert!(LocalIam::load_or_create((Some("AKIAGIVEN".into()), None), dir.path()).is_err());
    }
}
