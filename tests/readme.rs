//! The project READMEs' Rust examples, compiled and run as doc tests (`cargo test
//! --workspace` runs them). Nothing else lives here.
#![doc = include_str!("../README.md")]

/// The Chinese README's Rust examples, the same as the English ones, compiled and run too.
#[doc = include_str!("../README.zh-CN.md")]
pub mod zh_cn {}
