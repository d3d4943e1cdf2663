//! NIfTI (todo)
