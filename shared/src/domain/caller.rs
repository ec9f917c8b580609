//! Who is calling a frontend route: the platform user and the accounts its
//! JWT says it may act for (SPEC section 3).

use std::collections::{BTreeSet, HashMap};

use super::ids::{AccountId, UserId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user: UserId,
    pub accounts: BTreeSet<AccountId>,
}

impl Caller {
    /// `None` when there is no usable `sub`: such a request is unauthenticated.
    pub fn from_claims(claims: &HashMap<String, String>, accounts_claim: &str) -> Option<Self> {
        let user = UserId::parse(claims.get("sub")?.trim())?;
        let accounts = claims
            .get(accounts_claim)
            .map(|raw| parse_accounts(raw))
            .unwrap_or_default();
        Some(Self { user, accounts })
    }

    pub fn is_member(&self, account: &AccountId) -> bool {
        self.accounts.contains(account)
    }
}

/// Reads a list claim in every form it reaches us in: a JSON array
/// (`["a","b"]`), API Gateway's rendering of an array (`[a b]`), or a
/// comma- or space-separated string. Entries that are not valid account ids
/// are dropped: they could never match a route's account anyway.
pub fn parse_accounts(raw: &str) -> BTreeSet<AccountId> {
    let raw = raw.trim();
    if let Ok(list) = serde_json::from_str::<Vec<String>>(raw) {
        return list.iter().filter_map(|a| AccountId::parse(a.trim())).collect();
    }
    let inner = raw.strip_prefix('[').and_then(|r| r.strip_suffix(']')).unwrap_or(raw);
    inner
        .split(|c: char| c == ',' || c.is_whitespace())
        .map(unquote)
        .filter_map(AccountId::parse)
        .collect()
}

/// `'a'` or `"a"` is `a`; a quote on one side only is part of the entry,
/// which then is no valid account id (`[team-a' OR '1'='1]` grants nothing).
fn unquote(entry: &str) -> &str {
    for quote in ['"', '\''] {
        if let Some(inner) = entry.strip_prefix(quote).and_then(|e| e.strip_suffix(quote)) {
            return inner;
        }
    }
    entry
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[&str]) -> BTreeSet<AccountId> {
        list.iter().map(|a| AccountId::parse(a).unwrap()).collect()
    }

    #[test]
    fn all_three_string_forms_of_a_list_claim_are_understood() {
        let expected = ids(&["team-a", "team-b"]);
        assert_eq!(parse_accounts(r#"["team-a","team-b"]"#), expected);
        assert_eq!(parse_accounts("[team-a team-b]"), expected);
        assert_eq!(parse_accounts("team-a,team-b"), expected);
        assert_eq!(parse_accounts("team-a team-b"), expected);
        assert_eq!(parse_accounts(" team-a , team-b "), expected);
    }

    #[test]
    fn empty_and_odd_claims_give_no_accounts() {
        for raw in ["", "[]", "[ ]", ",,", "{}", "[\"../x\"]", "a/b", "[a']", "'a", "[\"a]"] {
            assert!(parse_accounts(raw).is_empty(), "{raw:?}");
        }
    }

    #[test]
    fn a_single_account_is_a_list_of_one() {
        assert_eq!(parse_accounts("team-a"), ids(&["team-a"]));
        assert_eq!(parse_accounts("[team-a]"), ids(&["team-a"]));
    }

    #[test]
    fn a_caller_needs_a_subject() {
        let mut claims = HashMap::from([("accounts".to_string(), "[a]".to_string())]);
        assert!(Caller::from_claims(&claims, "accounts").is_none());
        claims.insert("sub".into(), "user-1".into());
        let caller = Caller::from_claims(&claims, "accounts").unwrap();
        assert!(caller.is_member(&AccountId::parse("a").unwrap()));
        assert!(!caller.is_member(&AccountId::parse("b").unwrap()));
    }

    #[test]
    fn the_accounts_claim_name_is_configurable() {
        let claims = HashMap::from([
            ("sub".to_string(), "u".to_string()),
            ("accounts".to_string(), "[wrong]".to_string()),
            ("custom:teams".to_string(), "[right]".to_string()),
        ]);
        let caller = Caller::from_claims(&claims, "custom:teams").unwrap();
        assert_eq!(caller.accounts, ids(&["right"]));
    }
}
