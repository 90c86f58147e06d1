//! How a request reaches a server: the HTTP client, credentials, and the accounts of a target.

pub mod auth;
pub mod calls;
pub mod client;

pub use auth::{Auth, Secret};
pub use client::{Client, ClientOptions, Exchange, Post, TargetError};
