//! The one integration-test binary: the real programs against a temp `ASTRA_HOME`.
mod cli;
mod crash;
mod fake_notion;
mod fake_openai;
mod faults;
mod harness;
mod journal;
mod journal_notion;
mod notion;
mod openai;
mod pipeline;
mod recorder;
mod resilience;
mod runner;
mod schedule;
mod speech;
mod throughput;
