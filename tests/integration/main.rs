//! The one integration-test binary: the real programs against a temp `ASTRA_HOME`.
mod crash;
mod harness;
mod journal;
mod pipeline;
mod runner;
mod speech;
