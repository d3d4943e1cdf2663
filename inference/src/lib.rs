//! `vasa-inference`: everything that turns a scan into vessel labels — the
//! synthetic chest phantom (training data, test oracle, sample scan), and in
//! later issues the network, sliding-window prediction and the S204–S208
//! refinement.

pub mod phantom;

pub mod network;
pub mod ops;
pub mod refine;
pub mod segment;
#[doc(hidden)]
pub mod testing;
pub mod train;
pub mod tree;
