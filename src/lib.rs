#![warn(missing_docs)]
//! celltwin: a digital twin of lithium-ion cell production.
//!
//! Millions of cells are Monte-Carlo simulated through coating, calendering, winding, filling,
//! formation & aging and end-of-line test; passed cells are matched into series/parallel packs and
//! the packs aged cycle by cycle, to show how manufacturing consistency drives pack life.
//!
//! - [`scene`]: the parameters (TOML), their defaults and validation;
//! - [`rng`]: the counter-based generator every draw comes from;
//! - [`model`]: the physics, stage by stage, backend-free;
//! - [`engine`]: chunked runs on a backend ([`engine::cpu`], and the GPU twin);
//! - [`summary`]: statistics, JSON and CSV;
//! - [`attribution`]: the lost pack life shared out to its sources (Shapley values over runs);
//! - [`shard`]: runs split over machines (Slurm, Kubernetes) and merged exactly;
//! - [`bpx`]: a Battery Parameter eXchange cell imported as a scene.

#[cfg(feature = "app")]
pub mod app;
pub mod attribution;
pub mod backend;
pub mod bpx;
pub mod cli;
pub mod engine;
pub mod gpu;
pub mod model;
pub mod rng;
pub mod scene;
pub mod shard;
pub mod summary;
pub mod sweep;
