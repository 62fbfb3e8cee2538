//! Output directories that are never half-written.
//!
//! Every file goes to a temporary name in the target directory (same file system, so the rename
//! is atomic), is flushed to disk, and only then renamed to its name. The *marker* file
//! (`summary.json`, `sweep.json`) is removed before the others are renamed and renamed last, so at
//! every instant a reader sees the previous complete set, or a set without its marker (which it
//! must treat as no output), or the new complete set — never old and new files under a marker. A
//! full disk, an error or a signal leaves at worst temporary files, which carry a prefix of their
//! own and are cleared by the next write into the directory.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Prefix of temporary files; nothing else in an output directory starts with it.
pub const TMP_PREFIX: &str = ".celltwin-tmp-";

/// Create `dir` if needed and prove it writable with a probe file, so a bad `--out` fails before
/// a long run rather than after it.
pub fn check_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let probe = dir.join(format!("{TMP_PREFIX}{}-probe", std::process::id()));
    std::fs::write(&probe, b"")?;
    std::fs::remove_file(&probe)
}

/// Write `files` and then `marker` (name, contents) into `dir` as described in the module docs.
pub fn write_dir(
    dir: &Path,
    files: &[(String, Vec<u8>)],
    marker: (&str, &[u8]),
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    clear_stale(dir);
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::with_capacity(files.len() + 1);
    let result = (|| {
        for (name, bytes) in files
            .iter()
            .map(|(n, b)| (n.as_str(), b.as_slice()))
            .chain([marker])
        {
            let tmp = dir.join(format!("{TMP_PREFIX}{}-{name}", std::process::id()));
            staged.push((tmp.clone(), dir.join(name)));
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
        }
        // The old set loses its marker first: from here until the new marker lands, the
        // directory reads as incomplete, never as old files beside new ones.
        match std::fs::remove_file(dir.join(marker.0)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        for (tmp, fin) in &staged {
            std::fs::rename(tmp, fin)?;
        }
        // The renames themselves reach the disk with the directory's entry table.
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .or_else(|e| {
                // Some platforms cannot open a directory to sync it; the renames stand regardless.
                if e.kind() == std::io::ErrorKind::PermissionDenied {
                    Ok(())
                } else {
                    Err(e)
                }
            })
    })();
    if result.is_err() {
        for (tmp, _) in &staged {
            let _ = std::fs::remove_file(tmp);
        }
    }
    result
}

/// Remove temporary files an interrupted earlier write left behind: those over an hour old, so
/// the in-flight files of other writers into the same directory (a job array's shards) are left
/// alone.
fn clear_stale(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let hour = std::time::Duration::from_secs(3600);
    for e in entries.flatten() {
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > hour));
        if old && e.file_name().to_string_lossy().starts_with(TMP_PREFIX) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("celltwin_atomic_{tag}_{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    /// A second write replaces the first whole and leaves no temporary file of its own; an old
    /// stale one is cleared, a fresh one (another writer's, in flight) is left.
    #[test]
    fn writes_replace_whole_sets() {
        let d = tmpdir("replace");
        write_dir(
            &d,
            &[("a.csv".into(), b"1".to_vec())],
            ("summary.json", b"{}"),
        )
        .unwrap();
        let stale = d.join(format!("{TMP_PREFIX}999-a.csv"));
        std::fs::write(&stale, b"stale").unwrap();
        let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
        std::fs::File::options()
            .write(true)
            .open(&stale)
            .unwrap()
            .set_modified(two_hours_ago)
            .unwrap();
        let in_flight = d.join(format!("{TMP_PREFIX}998-b.csv"));
        std::fs::write(&in_flight, b"another writer's").unwrap();
        write_dir(
            &d,
            &[("a.csv".into(), b"2".to_vec())],
            ("summary.json", b"{\"n\":2}"),
        )
        .unwrap();
        assert_eq!(std::fs::read(d.join("a.csv")).unwrap(), b"2");
        assert_eq!(std::fs::read(d.join("summary.json")).unwrap(), b"{\"n\":2}");
        assert!(!stale.exists(), "the stale file is cleared");
        assert!(in_flight.exists(), "another writer's file is left alone");
        std::fs::remove_file(&in_flight).unwrap();
        let names: Vec<String> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names.iter().all(|n| !n.starts_with(TMP_PREFIX)),
            "{names:?}"
        );
        let _ = std::fs::remove_dir_all(&d);
    }

    /// A write that fails part-way (here: a file name that cannot be created) leaves the previous
    /// complete set as it was, with its marker, and no temporary files.
    #[test]
    fn a_failed_write_keeps_the_previous_set() {
        let d = tmpdir("fail");
        write_dir(
            &d,
            &[("a.csv".into(), b"old".to_vec())],
            ("summary.json", b"old"),
        )
        .unwrap();
        let bad = ("no/such/sub/dir.csv".to_string(), b"x".to_vec());
        let err = write_dir(
            &d,
            &[("a.csv".into(), b"new".to_vec()), bad],
            ("summary.json", b"new"),
        );
        assert!(err.is_err());
        assert_eq!(std::fs::read(d.join("a.csv")).unwrap(), b"old");
        assert_eq!(std::fs::read(d.join("summary.json")).unwrap(), b"old");
        assert_eq!(
            std::fs::read_dir(&d).unwrap().count(),
            2,
            "no temporary files left"
        );
        let _ = std::fs::remove_dir_all(&d);
    }

    /// An unwritable place is found before the run.
    #[test]
    fn check_dir_refuses_a_file_in_the_way() {
        let d = tmpdir("check");
        std::fs::create_dir_all(&d).unwrap();
        let file = d.join("plain_file");
        std::fs::write(&file, b"").unwrap();
        assert!(check_dir(&file).is_err());
        assert!(check_dir(&d.join("new_sub")).is_ok());
        let _ = std::fs::remove_dir_all(&d);
    }
}
