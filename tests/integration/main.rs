//! The one integration-test binary: the real programs against a temp `ASTRA_HOME`.
mod crash;
mod fake_notion;
mod harness;
mod notion;
mod pipeline;
mod runner;
mod speech;
