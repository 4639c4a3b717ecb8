#![cfg(not(loom))]
//! Placeholder while the behaviour tests are written.
mod support;
