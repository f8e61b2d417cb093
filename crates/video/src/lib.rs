//! concierge-video
