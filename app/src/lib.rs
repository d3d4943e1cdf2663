//! Vasa as a library: the viewer ([`gui`]) and the scriptable tools
//! ([`cli`]). The `vasa` binary is a thin `main` over these; the tests drive
//! the real UI through [`gui::VasaApp`].

pub mod cli;
pub mod gui;
