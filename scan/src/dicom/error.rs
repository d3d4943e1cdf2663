//! Error wording shared by the DICOM loader's steps: the DICOM libraries
//! nest their errors, and a user needs the whole chain on one line.

/// Joins an error and its sources into one line (a source whose text the
/// line already holds is left out).
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        src = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot read DICOM file")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn chain_names_every_source_once() {
        let e = Outer(std::io::Error::other("disk on fire"));
        assert_eq!(error_chain(&e), "cannot read DICOM file: disk on fire");
        let plain = std::io::Error::other("alone");
        assert_eq!(error_chain(&plain), "alone");
    }
}
