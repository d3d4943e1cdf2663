//! The edit log: one [`EditOp`] per line as JSON, points in patient LPS mm.
//! It is the provenance of edited labels, and `vasa edit` replays it.

use std::io::Write;
use std::path::Path;

use crate::error::EditError;
use crate::ops::EditOp;

/// Reads the ops of a log; blank lines and lines starting with `#` are
/// skipped. The error names the file and the line.
pub fn read(path: &Path) -> Result<Vec<EditOp>, EditError> {
    let text = std::fs::read_to_string(path).map_err(|source| EditError::Io { path: path.into(), source })?;
    parse(&text).map_err(|(line, source)| EditError::AtLine { path: path.into(), line, source: Box::new(source) })
}

/// The ops of a log's text; the error gives the 1-based line.
pub fn parse(text: &str) -> Result<Vec<EditOp>, (usize, EditError)> {
    let mut ops = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let op = serde_json::from_str(line).map_err(|e| (n + 1, EditError::Parse(e.to_string())))?;
        ops.push(op);
    }
    Ok(ops)
}

/// One op as its log line (no newline).
pub fn line(op: &EditOp) -> String {
    serde_json::to_string(op).expect("ops always serialise")
}

/// Appends `op` to the log at `path` (created if missing) and flushes it to
/// disk, so that a crash loses at most the op being written.
pub fn append(path: &Path, op: &EditOp) -> Result<(), EditError> {
    let io = |source| EditError::Io { path: path.into(), source };
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(io)?;
    writeln!(f, "{}", line(op)).map_err(io)?;
    f.sync_data().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_round_trips_and_errors_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("edits.jsonl");
        let ops = [
            EditOp::Paint { class: 1, center_mm: [1.0, 2.0, 3.0], radius_mm: 2.0, hu: Some([-100, 500]) },
            EditOp::Undo,
            EditOp::Relabel { at_mm: [0.5, 0.5, 0.5], to: 2, cut_normal: None },
        ];
        for op in &ops {
            append(&path, op).unwrap();
        }
        assert_eq!(read(&path).unwrap(), ops);
        std::fs::write(&path, "# a comment\n\n{\"op\":\"undo\"}\n{\"op\":\"paint\",\"class\":1}\n").unwrap();
        let e = read(&path).unwrap_err().to_string();
        assert!(e.contains("edits.jsonl:4") && e.contains("missing field"), "{e}");
        let e = read(&dir.path().join("none.jsonl")).unwrap_err().to_string();
        assert!(e.contains("none.jsonl"), "{e}");
    }
}
