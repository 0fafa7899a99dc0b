//! How much of a file a process holds mapped in memory, read from the
//! kernel's per-map accounting: what the SQLite store's map of its database
//! adds to the RSS, which the store's tests and the benchmark tell apart
//! from the process's own memory.

use std::path::Path;

/// What a process holds resident, in KiB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resident {
    /// Every map's resident pages: the RSS.
    pub total_kib: u64,
    /// Those of the maps of one file.
    pub file_kib: u64,
}

/// The resident pages of the maps that `smaps` (the text of
/// `/proc/PID/smaps`) lists, and of those of `file`; `file` must be the
/// path the kernel shows (canonical).
pub fn resident(smaps: &str, file: &Path) -> Resident {
    let mut in_file = false;
    let mut resident = Resident {
        total_kib: 0,
        file_kib: 0,
    };
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        let first = fields.next().unwrap_or_default();
        if first.ends_with(':') {
            if first == "Rss:" {
                let kib = fields
                    .next()
                    .and_then(|n| n.parse::<u64>().ok())
                    .unwrap_or(0);
                resident.total_kib += kib;
                if in_file {
                    resident.file_kib += kib;
                }
            }
        } else {
            // A map's first line: range, mode, offset, device, inode, path.
            in_file = fields.nth(4).is_some_and(|name| Path::new(name) == file);
        }
    }
    resident
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMAPS: &str = "\
55d0c0000000-55d0c0200000 r--s 00000000 08:01 1234                       /data/accounts.db
Size:               2048 kB
Rss:                 120 kB
Pss:                 120 kB
VmFlags: rd sh mr mw me ms sd
55d0c0200000-55d0c0300000 r--s 00000000 08:01 1234                       /data/accounts.db
Rss:                   8 kB
7f0000000000-7f0000100000 rw-s 00000000 08:01 1235                       /data/accounts.db-shm
Rss:                  32 kB
7f0000100000-7f0000200000 rw-p 00000000 00:00 0 
Rss:                 900 kB
";

    #[test]
    fn every_map_counts_in_the_total_and_only_the_file_s_in_its_part() {
        let of = |file: &str| resident(SMAPS, Path::new(file));
        assert_eq!(of("/data/accounts.db").file_kib, 128);
        assert_eq!(of("/data/accounts.db-shm").file_kib, 32);
        assert_eq!(of("/data/other.db").file_kib, 0);
        assert_eq!(of("/data/other.db").total_kib, 1_060);
    }
}
