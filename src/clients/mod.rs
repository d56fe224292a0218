//! Thin typed HTTP clients for remote services, each with its base URL injected so the
//! tests can point it at a local server.
pub mod gemini;
pub mod http;
pub mod notion;
pub mod openai;
