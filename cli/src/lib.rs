#![doc = include_str!("../README.md")]

pub mod build;
pub mod fixture;
pub mod gateway;
pub mod record;
pub mod settings;
pub mod simulate;
pub mod wire;
