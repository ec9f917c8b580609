//! What a repository or commit request may contain, checked before GitHub
//! is asked anything, so a commit is refused whole rather than half-way.

use std::collections::HashSet;

use super::error::DomainError;

/// At most this many files in one commit.
pub const MAX_FILES: usize = 100;
/// At most this many bytes in one file's content.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;
/// At most this many bytes of content in one commit (Lambda takes 6 MB per request).
pub const MAX_COMMIT_BYTES: usize = 4 * 1024 * 1024;
/// The request body limit of the commits route.
pub const MAX_COMMIT_BODY: usize = 5 * 1024 * 1024;

/// GitHub's repository name alphabet.
pub fn valid_repo_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// GitHub's login alphabet (users and organisations).
pub fn valid_login(login: &str) -> bool {
    !login.is_empty() && login.len() <= 39 && login.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// A branch name as `git check-ref-format --branch` takes it, the name
/// read literally (no `@{-1}` shorthand): `refs/heads/NAME` must be a valid
/// reference, NAME may not start with `-` or be `HEAD`. Beyond git, at most
/// 255 bytes (a file name's limit on most file systems).
pub fn valid_branch(name: &str) -> bool {
    name.len() <= 255 && !name.starts_with('-') && name != "HEAD" && valid_refname(&format!("refs/heads/{name}"))
}

/// git's rules for a reference name (`check_refname_format`): no empty
/// component, none starting with `.` or ending with `.lock`; no `..`, `@{`,
/// control character, space or any of `~ ^ : ? * [ \`; not ending with `/`
/// or `.`; not `@`.
fn valid_refname(name: &str) -> bool {
    let forbidden = |c: char| c < ' ' || c == '\x7f' || " ~^:?*[\\".contains(c);
    name != "@"
        && !name.ends_with('.')
        && !name.contains("..")
        && !name.contains("@{")
        && !name.chars().any(forbidden)
        && name
            .split('/')
            .all(|part| !part.is_empty() && !part.starts_with('.') && !part.ends_with(".lock"))
}

/// A relative path inside the repository, never escaping it or touching `.git`.
pub fn valid_path(path: &str) -> bool {
    !path.is_empty()
        && path.len() <= 4096
        && !path.starts_with('/')
        && path
            .split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != ".." && !seg.eq_ignore_ascii_case(".git"))
        && !path.chars().any(char::is_control)
}

pub fn check_repository(owner: &str, name: &str, description: Option<&str>) -> Result<(), DomainError> {
    if !valid_login(owner) {
        return Err(DomainError::invalid("invalid_owner", "owner must be a GitHub login"));
    }
    if !valid_repo_name(name) {
        return Err(DomainError::invalid(
            "invalid_repository_name",
            "repository names are 1-100 of A-Z a-z 0-9 - _ .",
        ));
    }
    if description.is_some_and(|d| d.len() > 350) {
        return Err(DomainError::invalid(
            "invalid_description",
            "descriptions are at most 350 bytes",
        ));
    }
    Ok(())
}

/// Checks a commit's files: count, sizes, paths and duplicates.
pub fn check_commit<'a>(
    branch: &str,
    message: &str,
    files: impl ExactSizeIterator<Item = (&'a str, &'a str)>,
) -> Result<(), DomainError> {
    if !valid_branch(branch) {
        return Err(DomainError::invalid("invalid_branch", "not a valid branch name"));
    }
    if message.trim().is_empty() || message.len() > 10_000 {
        return Err(DomainError::invalid(
            "invalid_message",
            "the commit message must be 1-10000 bytes",
        ));
    }
    let count = files.len();
    if count == 0 {
        return Err(DomainError::invalid("no_files", "a commit needs at least one file"));
    }
    if count > MAX_FILES {
        return Err(DomainError::Unprocessable {
            code: "too_many_files",
            message: format!("at most {MAX_FILES} files per commit"),
        });
    }
    let mut seen = HashSet::new();
    let mut total = 0;
    for (path, content) in files {
        if !valid_path(path) {
            return Err(DomainError::invalid(
                "invalid_path",
                format!("invalid file path {path:?}"),
            ));
        }
        if !seen.insert(path) {
            return Err(DomainError::Unprocessable {
                code: "duplicate_path",
                message: format!("{path:?} appears twice"),
            });
        }
        if content.len() > MAX_FILE_BYTES {
            return Err(DomainError::TooLarge { limit: MAX_FILE_BYTES });
        }
        total += content.len();
    }
    if total > MAX_COMMIT_BYTES {
        return Err(DomainError::TooLarge {
            limit: MAX_COMMIT_BYTES,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_names_follow_gits_rules() {
        for ok in [
            "main",
            "feature/x",
            "release-1.2",
            "user@host",
            "release#x",
            "%2e%2e",
            "a}b",
            "ä",
            "@",
            "a/HEAD",
            "x-",
        ] {
            assert!(valid_branch(ok), "{ok}");
        }
        for bad in [
            "", "/x", "x/", "a..b", "a b", "a~1", "x.lock", "a.lock/b", "a@{1}", ".hidden", "a/.b", "a:b", "a\\b",
            "-x", "HEAD", "a//b", "x.", "a\x7fb", "a\tb",
        ] {
            assert!(!valid_branch(bad), "{bad:?}");
        }
        assert!(!valid_branch(&"x".repeat(256)));
    }

    #[test]
    fn paths_stay_inside_the_repository() {
        for ok in ["README.md", "src/lib.rs", ".github/workflows/ci.yml"] {
            assert!(valid_path(ok), "{ok}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../b",
            "a//b",
            "a/",
            ".git/config",
            "a/.GIT/x",
            "a\nb",
            "./a",
        ] {
            assert!(!valid_path(bad), "{bad:?}");
        }
    }

    fn files<'a>(list: &'a [(&'a str, &'a str)]) -> impl ExactSizeIterator<Item = (&'a str, &'a str)> + 'a {
        list.iter().copied()
    }

    #[test]
    fn commits_are_bounded_in_count_and_size() {
        assert!(check_commit("main", "m", files(&[("a", "x")])).is_ok());
        assert_eq!(check_commit("main", "m", files(&[])).unwrap_err().code(), "no_files");
        assert_eq!(
            check_commit("main", " ", files(&[("a", "x")])).unwrap_err().code(),
            "invalid_message"
        );
        assert_eq!(
            check_commit("main", "m", files(&[("a", "x"), ("a", "y")]))
                .unwrap_err()
                .code(),
            "duplicate_path"
        );
        let many: Vec<(String, String)> = (0..=MAX_FILES).map(|i| (format!("f{i}"), String::new())).collect();
        let err = check_commit("main", "m", many.iter().map(|(p, c)| (p.as_str(), c.as_str()))).unwrap_err();
        assert!(
            matches!(
                err,
                DomainError::Unprocessable {
                    code: "too_many_files",
                    ..
                }
            ),
            "{err:?}"
        );
        let big = "x".repeat(MAX_FILE_BYTES + 1);
        let err = check_commit("main", "m", [("a", big.as_str())].into_iter()).unwrap_err();
        assert_eq!(err, DomainError::TooLarge { limit: MAX_FILE_BYTES });
        let chunk = "x".repeat(MAX_FILE_BYTES);
        let five: Vec<(String, &str)> = (0..5).map(|i| (format!("f{i}"), chunk.as_str())).collect();
        let err = check_commit("main", "m", five.iter().map(|(p, c)| (p.as_str(), *c))).unwrap_err();
        assert_eq!(
            err,
            DomainError::TooLarge {
                limit: MAX_COMMIT_BYTES
            }
        );
    }

    #[test]
    fn repository_requests_are_checked() {
        assert!(check_repository("octo-org", "web", None).is_ok());
        assert_eq!(
            check_repository("octo/org", "web", None).unwrap_err().code(),
            "invalid_owner"
        );
        assert_eq!(
            check_repository("octo", "a b", None).unwrap_err().code(),
            "invalid_repository_name"
        );
        assert_eq!(
            check_repository("octo", "..", None).unwrap_err().code(),
            "invalid_repository_name"
        );
    }
}
