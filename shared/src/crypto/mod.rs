//! The broker's cryptography, all from RustCrypto: tokens sealed at rest,
//! webhook signatures, and the random values of the OAuth flow.

pub mod digest;
pub mod random;
pub mod sealing;
pub mod signature;

pub use sealing::{SealError, TokenSealer};
pub use signature::WebhookVerifier;
