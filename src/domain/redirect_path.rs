//! Where a provider sign-in lands (contract section 14): a path on this
//! origin, never another site. `//evil.example` and `/\evil.example` are
//! read by browsers as other hosts, so they are refused with any backslash
//! or control character; what is refused falls back to the account page.

/// The landing path when none (or a refused one) is asked for.
pub const DEFAULT_LANDING: &str = "/account";

/// The longest landing path kept.
const MAX_LENGTH: usize = 2048;

/// `candidate` if it is a same-origin path, else `None`.
pub fn same_origin_path(candidate: &str) -> Option<&str> {
    let mut bytes = candidate.bytes();
    let same_origin = bytes.next() == Some(b'/')
        && !matches!(bytes.next(), Some(b'/' | b'\\'))
        && candidate.len() <= MAX_LENGTH
        && !candidate
            .chars()
            .any(|character| character == '\\' || character.is_control());
    same_origin.then_some(candidate)
}

/// The landing path for an optional `?redirect=`.
pub fn landing_path(requested: Option<&str>) -> String {
    requested
        .and_then(same_origin_path)
        .unwrap_or(DEFAULT_LANDING)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_origin_paths_are_kept() {
        for path in ["/", "/dashboard", "/a/b?c=d#e", "/account?link=github"] {
            assert_eq!(same_origin_path(path), Some(path));
        }
    }

    #[test]
    fn anything_a_browser_could_read_as_another_host_is_refused() {
        for path in [
            "",
            "dashboard",
            "//evil.example",
            "/\\evil.example",
            "/a\\b",
            "https://evil.example",
            "/a\nb",
            "/a\u{0}b",
            "/a\u{7f}b",
            "/a\u{85}b",
        ] {
            assert_eq!(same_origin_path(path), None, "{path:?}");
        }
        assert_eq!(
            same_origin_path(&format!("/{}", "a".repeat(MAX_LENGTH))),
            None
        );
    }

    #[test]
    fn a_refused_or_missing_redirect_lands_on_the_account_page() {
        assert_eq!(landing_path(None), "/account");
        assert_eq!(landing_path(Some("//evil.example")), "/account");
        assert_eq!(landing_path(Some("/dashboard")), "/dashboard");
    }
}
