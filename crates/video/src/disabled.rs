//! The fallback used when VideoSDK is not configured.

use async_trait::async_trait;
use concierge_domain::ports::VideoProvider;
use concierge_domain::video::{JoinToken, Participant, VideoRoom};
use concierge_domain::{DomainError, Result};

/// [`VideoProvider`] for a server without VideoSDK credentials: every call is `Unavailable`,
/// so call routes answer 503 while the rest of the desk works.
#[derive(Debug, Clone, Copy, Default)]
pub struct DisabledVideoProvider;

impl DisabledVideoProvider {
    fn unavailable() -> DomainError {
        DomainError::Unavailable(
            "video calls are not configured (set VIDEOSDK_API_KEY and VIDEOSDK_SECRET_KEY)"
                .to_owned(),
        )
    }
}

#[async_trait]
impl VideoProvider for DisabledVideoProvider {
    async fn create_room(&self) -> Result<VideoRoom> {
        Err(Self::unavailable())
    }

    fn join_token(&self, _room_id: &str, _participant: &Participant) -> Result<JoinToken> {
        Err(Self::unavailable())
    }

    /// Nothing was ever created here, so there is nothing to end.
    async fn end_room(&self, _room_id: &str) -> Result<()> {
        Ok(())
    }
}
