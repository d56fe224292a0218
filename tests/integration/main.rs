//! The one integration-test binary: the real programs against a temp `ASTRA_HOME`.
mod crash;
mod fake_openai;
mod harness;
mod openai;
mod pipeline;
mod runner;
mod speech;
