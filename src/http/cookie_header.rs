//! One cookie's value out of the request's `Cookie` headers, read where it
//! stands: every authenticated request does this, and the `cookie` crate's
//! parser builds a whole `Cookie` (attributes and all) for each pair on the
//! way. The pairs are read as that parser reads them (split at `;`, name
//! and value split at the first `=`, both trimmed), which a property test
//! holds it to.

use axum::http::HeaderMap;
use axum::http::header::COOKIE;

/// The value of the first cookie called `name`, across every `Cookie`
/// header in order.
pub fn cookie_value<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.split_once('='))
        .find(|(pair_name, _)| pair_name.trim() == name)
        .map(|(_, value)| value.trim())
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;
    use cookie::Cookie;
    use proptest::prelude::*;

    use super::*;

    const NAME: &str = "neptun-session";

    #[test]
    fn finds_the_cookie_among_others_and_across_headers() {
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, HeaderValue::from_static("theme=dark; other=1"));
        headers.append(COOKIE, HeaderValue::from_static("a=b; neptun-session=abc"));
        assert_eq!(cookie_value(&headers, NAME), Some("abc"));
        headers.clear();
        headers.append(COOKIE, HeaderValue::from_static("neptun-sessionx=1"));
        assert_eq!(cookie_value(&headers, NAME), None);
    }

    #[test]
    fn the_first_of_several_wins_within_and_across_headers() {
        let mut headers = HeaderMap::new();
        headers.append(
            COOKIE,
            HeaderValue::from_static("neptun-session=first; neptun-session=second"),
        );
        assert_eq!(cookie_value(&headers, NAME), Some("first"));
        headers.append(COOKIE, HeaderValue::from_static("neptun-session=third"));
        assert_eq!(cookie_value(&headers, NAME), Some("first"));
        headers.clear();
        headers.append(COOKIE, HeaderValue::from_static("theme=dark"));
        headers.append(COOKIE, HeaderValue::from_static("neptun-session=early"));
        headers.append(COOKIE, HeaderValue::from_static("neptun-session=late"));
        assert_eq!(cookie_value(&headers, NAME), Some("early"));
    }

    /// What the `cookie` crate's parser finds: the reference.
    fn parsed_by_the_cookie_crate(headers: &HeaderMap, name: &str) -> Option<String> {
        headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(Cookie::split_parse)
            .filter_map(Result::ok)
            .find(|cookie| cookie.name() == name)
            .map(|cookie| cookie.value().to_owned())
    }

    /// One `;`-separated piece: names that match, nearly match or are
    /// empty, with or without `=`, spaces and tabs around each part.
    fn piece() -> impl Strategy<Value = String> {
        let name = prop::sample::select(vec![NAME, "neptun-sessionx", "a", "", " "]);
        let equals = prop::sample::select(vec!["=", "", "=="]);
        let blank = "[ \t]{0,2}";
        (blank, name, blank, equals, blank, "[a-z\"= ]{0,6}", blank).prop_map(
            |(lead, name, before, equals, after, value, trail)| {
                format!("{lead}{name}{before}{equals}{after}{value}{trail}")
            },
        )
    }

    fn header() -> impl Strategy<Value = String> {
        prop::collection::vec(piece(), 0..4).prop_map(|pieces| pieces.join(";"))
    }

    proptest! {
        #[test]
        fn reads_what_the_cookie_crate_reads(values in prop::collection::vec(header(), 0..3)) {
            let mut headers = HeaderMap::new();
            for value in &values {
                headers.append(COOKIE, HeaderValue::from_str(value).expect("visible ASCII"));
            }
            prop_assert_eq!(
                cookie_value(&headers, NAME).map(str::to_owned),
                parsed_by_the_cookie_crate(&headers, NAME)
            );
        }
    }
}
