//! concierge-push
