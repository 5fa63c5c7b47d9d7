//! The project README's Rust examples, compiled and run as doc tests (`cargo test
//! --workspace` runs them). Nothing else lives here.
#![doc = include_str!("../README.md")]
