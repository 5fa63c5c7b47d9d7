#![doc = include_str!("../README.md")]

pub mod build;
pub mod fixture;
pub mod simulate;
pub mod wire;
