//! concierge-ai
