//! Common passwords to refuse at sign-up and password change (never at
//! login). The list is one lowercase password a line, sorted by bytes, and
//! is searched in place by bisection: no set is built on the heap.

use std::io;
use std::path::Path;

/// The bundled list (see `data/README.md` for its source).
const COMMON_PASSWORDS: &str = include_str!("../../data/common-passwords.txt");

/// A sorted list of lowercase passwords.
#[derive(Clone, Debug)]
pub struct PasswordBlocklist {
    sorted_lines: std::borrow::Cow<'static, str>,
}

impl PasswordBlocklist {
    /// The bundled list of common passwords.
    pub fn common() -> Self {
        Self {
            sorted_lines: std::borrow::Cow::Borrowed(COMMON_PASSWORDS),
        }
    }

    /// A UTF-8 file with one password a line, in any order and case.
    pub fn from_file(path: &Path) -> io::Result<Self> {
        let text = std::fs::read_to_string(path)?;
        let mut lines: Vec<String> = text
            .lines()
            .map(|line| line.trim_end_matches('\r').to_lowercase())
            .filter(|line| !line.is_empty())
            .collect();
        lines.sort_unstable();
        lines.dedup();
        let mut sorted_lines = lines.join("\n");
        sorted_lines.push('\n');
        Ok(Self {
            sorted_lines: std::borrow::Cow::Owned(sorted_lines),
        })
    }

    /// Number of passwords on the list.
    pub fn len(&self) -> usize {
        self.sorted_lines.lines().count()
    }

    pub fn is_empty(&self) -> bool {
        self.sorted_lines.trim().is_empty()
    }

    /// Whether `password` is on the list, ignoring case.
    pub fn contains(&self, password: &str) -> bool {
        let wanted = password.to_lowercase();
        let text = self.sorted_lines.as_bytes();
        // Bisect over byte offsets; each probe reads the line that starts at
        // or after the midpoint.
        let (mut low, mut high) = (0, text.len());
        while low < high {
            let middle = low + (high - low) / 2;
            let start = line_start(text, middle);
            let end = text[start..]
                .iter()
                .position(|&byte| byte == b'\n')
                .map_or(text.len(), |offset| start + offset);
            match text[start..end].cmp(wanted.as_bytes()) {
                std::cmp::Ordering::Equal => return true,
                std::cmp::Ordering::Less => low = end + 1,
                std::cmp::Ordering::Greater => high = start,
            }
        }
        false
    }
}

/// The first byte of the line that holds `offset`.
fn line_start(text: &[u8], offset: usize) -> usize {
    text[..offset]
        .iter()
        .rposition(|&byte| byte == b'\n')
        .map_or(0, |newline| newline + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_list_holds_at_least_ten_thousand_sorted_passwords() {
        let list = PasswordBlocklist::common();
        assert!(list.len() >= 10_000, "{}", list.len());
        let lines: Vec<&str> = COMMON_PASSWORDS.lines().collect();
        assert!(
            lines
                .windows(2)
                .all(|pair| pair[0].as_bytes() < pair[1].as_bytes()),
            "sorted, no duplicates"
        );
        assert!(lines.iter().all(|line| *line == line.to_lowercase()));
    }

    #[test]
    fn finds_every_bundled_password_in_any_case_and_nothing_else() {
        let list = PasswordBlocklist::common();
        for line in COMMON_PASSWORDS.lines() {
            assert!(list.contains(line), "{line}");
        }
        assert!(list.contains("PASSWORD"));
        assert!(list.contains("Password1"));
        assert!(list.contains("123456"));
        assert!(!list.contains("correct horse battery staple 1977"));
        assert!(!list.contains(""));
        assert!(!list.contains("\u{10ffff}"));
    }

    #[test]
    fn a_file_list_is_sorted_lowercased_and_searched_the_same_way() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("list.txt");
        std::fs::write(&path, "Zebra-Stripes\r\nalpha\n\nÜberGeheim\nalpha\n").unwrap();
        let list = PasswordBlocklist::from_file(&path).unwrap();
        assert_eq!(list.len(), 3);
        for present in ["zebra-stripes", "ALPHA", "übergeheim", "ÜBERGEHEIM"] {
            assert!(list.contains(present), "{present}");
        }
        assert!(!list.contains("beta"));
    }
}
