//! Synthetic chest CT phantom (in progress)
