//! Vasa as a library: the document model ([`doc`]), the viewer ([`gui`]),
//! the scriptable tools ([`cli`]), where things are kept ([`settings`]) and
//! what can go wrong ([`error`]). The `vasa` binary is a thin `main` over
//! these; the tests drive the real UI through [`gui::VasaApp`].

pub mod cli;
pub mod doc;
pub mod error;
pub mod export_report;
pub mod gui;
pub mod memory;
pub mod settings;
