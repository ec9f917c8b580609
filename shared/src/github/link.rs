//! GitHub's pagination: the `Link` header's `rel="next"` URL.

pub fn next_page(link_header: Option<&str>) -> Option<String> {
    link_header?.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        let is_next = params.split(';').any(|p| p.trim().replace(' ', "") == "rel=\"next\"");
        is_next.then(|| url.trim().trim_start_matches('<').trim_end_matches('>').to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_next_page_among_the_others() {
        let h = r#"<https://api.github.com/user/installations?page=2>; rel="next", <https://api.github.com/user/installations?page=5>; rel="last""#;
        assert_eq!(
            next_page(Some(h)).as_deref(),
            Some("https://api.github.com/user/installations?page=2")
        );
        let h = r#"<https://x/?page=1>; rel="prev", <https://x/?page=3>; rel="next""#;
        assert_eq!(next_page(Some(h)).as_deref(), Some("https://x/?page=3"));
    }

    #[test]
    fn the_last_page_has_no_next() {
        assert_eq!(
            next_page(Some(
                r#"<https://x/?page=1>; rel="prev", <https://x/?page=1>; rel="first""#
            )),
            None
        );
        assert_eq!(next_page(None), None);
        assert_eq!(next_page(Some("garbage")), None);
    }
}
