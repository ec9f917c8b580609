//! JWT claims → caller: the claims map API Gateway's authorizer hands over,
//! with the accounts claim in any of its forms (JSON array, API Gateway's
//! `[a b]`, comma- or space-separated) or garbage.
//!
//! Input: text split at NUL into the `sub` claim, the accounts claim, the
//! accounts claim's name (empty: `accounts`) and further `name=value`
//! claims. An accounts claim holding \x01 is also read as a list of entries
//! and rendered in every form, which must all agree.

#![no_main]

use std::collections::{BTreeSet, HashMap};

use broker::domain::caller::parse_accounts;
use broker::domain::{AccountId, Caller, UserId};
use libfuzzer_sys::fuzz_target;

fn render_json(ids: &BTreeSet<AccountId>) -> String {
    serde_json::to_string(&ids.iter().map(AccountId::as_str).collect::<Vec<_>>()).expect("JSON")
}

/// Every form the claim may reach us in, for entries that hold no separator.
fn forms(entries: &[&str]) -> [String; 4] {
    [
        serde_json::to_string(entries).expect("JSON"),
        format!("[{}]", entries.join(" ")),
        entries.join(","),
        entries.join(" "),
    ]
}

fn check_accounts(raw: &str) -> BTreeSet<AccountId> {
    let accounts = parse_accounts(raw);
    // A JSON array may spell an id with escapes: compare with what it decodes to.
    let source = match serde_json::from_str::<Vec<String>>(raw.trim()) {
        Ok(list) => list.join("\u{1}"),
        Err(_) => raw.to_owned(),
    };
    for account in &accounts {
        assert_eq!(AccountId::parse(account.as_str()).as_ref(), Some(account), "{raw:?}");
        assert!(source.contains(account.as_str()), "{account} is not in {raw:?}");
    }
    // What we understood reads back the same from each form we accept.
    let names: Vec<&str> = accounts.iter().map(AccountId::as_str).collect();
    assert_eq!(parse_accounts(&render_json(&accounts)), accounts, "{raw:?}");
    if !names.is_empty() {
        for form in forms(&names) {
            assert_eq!(parse_accounts(&form), accounts, "{raw:?} as {form:?}");
        }
    }
    accounts
}

fn check_entries(list: &str) {
    let entries: Vec<&str> = list.split('\u{1}').collect();
    let valid: BTreeSet<AccountId> = entries.iter().filter_map(|e| AccountId::parse(e.trim())).collect();
    assert_eq!(parse_accounts(&forms(&entries)[0]), valid, "JSON array {entries:?}");
    let separator_free = entries
        .iter()
        .all(|e| !e.is_empty() && !e.contains(|c: char| c.is_whitespace() || ",[]\"'".contains(c)));
    if separator_free {
        for form in forms(&entries) {
            assert_eq!(parse_accounts(&form), valid, "{entries:?} as {form:?}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut fields = text.split('\0');
    let sub = fields.next().unwrap_or_default();
    let accounts_raw = fields.next();
    let claim_name = fields.next().filter(|n| !n.is_empty()).unwrap_or("accounts");

    let mut claims = HashMap::new();
    for extra in fields {
        let (name, value) = extra.split_once('=').unwrap_or((extra, ""));
        claims.insert(name.to_owned(), value.to_owned());
    }
    claims.insert("sub".to_owned(), sub.to_owned());
    if let Some(raw) = accounts_raw {
        claims.insert(claim_name.to_owned(), raw.to_owned());
        if raw.contains('\u{1}') {
            check_entries(raw);
        }
    }

    let expected_accounts = claims.get(claim_name).map(|raw| check_accounts(raw));
    match Caller::from_claims(&claims, claim_name) {
        Some(caller) => {
            assert_eq!(caller.user.as_str(), claims["sub"].trim(), "{claims:?}");
            assert_eq!(Some(caller.accounts), expected_accounts.or(Some(BTreeSet::new())));
        }
        None => assert!(UserId::parse(claims["sub"].trim()).is_none(), "{claims:?}"),
    }
});
