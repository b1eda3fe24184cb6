//! What a data file holds, before training on it: `cargo xtask inspect FILE`.

pub mod conll;
pub mod csv;
pub mod text;
