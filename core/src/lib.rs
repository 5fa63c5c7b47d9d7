#![allow(missing_docs)]
pub mod config;
pub mod crypto;
pub mod error;
pub mod signature;
