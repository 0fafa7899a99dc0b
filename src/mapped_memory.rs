//! How much of a file a process holds mapped in memory, read from the
//! kernel's per-map accounting: what the SQLite store's map of its database
//! adds to the RSS, which the store's tests and the benchmark tell apart
//! from the process's own memory.

use std::path::Path;

/// KiB of `file` resident in the maps of it that `smaps` (the text of
/// `/proc/PID/smaps`) lists; `file` must be the path the kernel shows
/// (canonical).
pub fn resident_kib(smaps: &str, file: &Path) -> u64 {
    let mut in_file = false;
    let mut kib = 0;
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        let first = fields.next().unwrap_or_default();
        if first.ends_with(':') {
            if in_file && first == "Rss:" {
                kib += fields
                    .next()
                    .and_then(|n| n.parse::<u64>().ok())
                    .unwrap_or(0);
            }
        } else {
            // A map's first line: range, mode, offset, device, inode, path.
            in_file = fields.nth(4).is_some_and(|name| Path::new(name) == file);
        }
    }
    kib
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
    fn only_the_maps_of_that_file_count() {
        let of = |file: &str| resident_kib(SMAPS, Path::new(file));
        assert_eq!(of("/data/accounts.db"), 128);
        assert_eq!(of("/data/accounts.db-shm"), 32);
        assert_eq!(of("/data/other.db"), 0);
    }
}
