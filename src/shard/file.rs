//! The shard file itself: a JSON header line (format, version, CRC-32 and length of the payload)
//! framing the payload line, read back only when the header and checksum hold; and the listing
//! of a directory's shard files. Apart from what a payload holds, which the run's and the
//! sweep's shards each define.

use super::{FORMAT, SWEEP_FORMAT, ShardError, VERSION};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Serialize, Deserialize)]
struct Header {
    format: String,
    version: u32,
    crc32: u32,
    bytes: u64,
}

/// Header line + payload line, the header carrying the payload's CRC-32 and length.
pub(super) fn framed<T: Serialize>(format: &str, payload: &T) -> Result<Vec<u8>, String> {
    let body = serde_json::to_vec(payload).map_err(|e| e.to_string())?;
    let header = Header {
        format: format.into(),
        version: VERSION,
        crc32: crc32fast::hash(&body),
        bytes: body.len() as u64,
    };
    let mut out = serde_json::to_vec(&header).map_err(|e| e.to_string())?;
    out.push(b'\n');
    out.extend_from_slice(&body);
    out.push(b'\n');
    Ok(out)
}

/// Read one shard file and check its header and checksum: its format and payload bytes.
fn unframe(path: &Path) -> Result<(String, Vec<u8>), ShardError> {
    let err = |why: String| ShardError::File {
        path: path.display().to_string(),
        why,
    };
    let bytes = std::fs::read(path).map_err(|e| err(format!("cannot read: {e}")))?;
    let nl = bytes
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(|| err("not a celltwin shard file (no header line)".into()))?;
    let header: Header = serde_json::from_slice(&bytes[..nl])
        .map_err(|_| err("not a celltwin shard file (header unreadable)".into()))?;
    if header.format != FORMAT && header.format != SWEEP_FORMAT {
        return Err(err(format!(
            "format `{}`, not `{FORMAT}` or `{SWEEP_FORMAT}`",
            header.format
        )));
    }
    if header.version != VERSION {
        return Err(err(format!(
            "shard format version {}, this celltwin merges version {VERSION}",
            header.version
        )));
    }
    let body = bytes[nl + 1..]
        .strip_suffix(b"\n")
        .unwrap_or(&bytes[nl + 1..]);
    if body.len() as u64 != header.bytes || crc32fast::hash(body) != header.crc32 {
        return Err(err(
            "corrupted: the payload does not match its checksum (truncated or altered)".into(),
        ));
    }
    Ok((header.format, body.to_vec()))
}

/// Read a checked payload of the expected format.
pub(super) fn decode<T: serde::de::DeserializeOwned>(
    path: &Path,
    format: &str,
) -> Result<T, ShardError> {
    let err = |why: String| ShardError::File {
        path: path.display().to_string(),
        why,
    };
    let (found, body) = unframe(path)?;
    if found != format {
        return Err(err(format!(
            "a `{found}` file among `{format}` files: a run's and a sweep's shards do not merge"
        )));
    }
    serde_json::from_slice(&body).map_err(|e| err(format!("corrupted payload: {e}")))
}

/// The format of a shard file: a run's shard ([`FORMAT`]) or a sweep's ([`SWEEP_FORMAT`]).
pub fn format_of(path: &Path) -> Result<String, ShardError> {
    unframe(path).map(|(f, _)| f)
}

/// The shard files in `inputs`: each a file, or a directory whose `shard-*.json` are taken.
pub fn shard_files(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, ShardError> {
    let mut files = Vec::new();
    for p in inputs {
        if p.is_dir() {
            let rd = std::fs::read_dir(p).map_err(|e| ShardError::File {
                path: p.display().to_string(),
                why: format!("cannot list: {e}"),
            })?;
            let mut found: Vec<PathBuf> = rd
                .flatten()
                .map(|e| e.path())
                .filter(|f| {
                    f.file_name().is_some_and(|n| {
                        let n = n.to_string_lossy();
                        (n.starts_with("shard-") || n.starts_with("sweep-shard-"))
                            && n.ends_with(".json")
                    })
                })
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(p.clone());
        }
    }
    if files.is_empty() {
        return Err(ShardError::Set(
            "no shard files (shard-*.json) in the given paths".into(),
        ));
    }
    Ok(files)
}
