//! Tokens: staff JWTs from login, donor tokens scoped to one donor and ticket, and the
//! extractors that turn a request's bearer token into a domain [`Actor`].

use crate::problem::ApiError;
use crate::state::AppState;
use actix_web::{dev::Payload, http::header, web, FromRequest, HttpRequest};
use concierge_domain::audit::AuditActor;
use concierge_domain::{Actor, TicketId, UserId};
use futures_util::future::LocalBoxFuture;
use hmac::{Hmac, Mac};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::time::Duration;

/// What a token stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Kind {
    Staff,
    Donor,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// The user id (staff) or donor id (donor).
    sub: String,
    kind: Kind,
    /// Staff: the user's token version when minted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ver: Option<i32>,
    /// Donor: the ticket the token is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tid: Option<i64>,
    /// Donor: its donor session. Tokens minted before sessions existed have none and stand
    /// for the session the migration gave their ticket (`legacy-<tid>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ses: Option<String>,
    /// Donor: the app vouched for the donor id (see [`DonorIdentity`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    idv: bool,
    iat: i64,
    exp: i64,
}

/// Mints and checks tokens (HS256 with the configured secret; any other algorithm, `none`
/// included, is refused).
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    staff_ttl: Duration,
    donor_ttl: Duration,
}

/// A minted token and how long it lives.
pub struct Minted {
    /// The JWT.
    pub token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
}

impl Tokens {
    /// Keys from the raw secret.
    pub fn new(secret: &str, staff_ttl: Duration, donor_ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            validation,
            staff_ttl,
            donor_ttl,
        }
    }

    fn mint(&self, claims: Claims) -> Result<String, ApiError> {
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ApiError::Internal(Box::new(e)))
    }

    /// A staff token for the user at its current token version.
    pub fn staff(&self, user_id: UserId, token_version: i32) -> Result<Minted, ApiError> {
        let now = chrono::Utc::now().timestamp();
        let token = self.mint(Claims {
            sub: user_id.to_string(),
            kind: Kind::Staff,
            ver: Some(token_version),
            tid: None,
            ses: None,
            idv: false,
            iat: now,
            exp: now + self.staff_ttl.as_secs() as i64,
        })?;
        Ok(Minted {
            token,
            expires_in: self.staff_ttl.as_secs(),
        })
    }

    /// A donor token for one ticket of one donor, in its donor session; `identity_verified`
    /// when the app vouched for the donor id.
    pub fn donor(
        &self,
        donor_id: &str,
        ticket_id: TicketId,
        session: &str,
        identity_verified: bool,
    ) -> Result<String, ApiError> {
        let now = chrono::Utc::now().timestamp();
        self.mint(Claims {
            sub: donor_id.to_string(),
            kind: Kind::Donor,
            ver: None,
            tid: Some(ticket_id.0),
            ses: Some(session.to_string()),
            idv: identity_verified,
            iat: now,
            exp: now + self.donor_ttl.as_secs() as i64,
        })
    }

    fn check(&self, token: &str) -> Option<Claims> {
        decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()
            .map(|data| data.claims)
    }
}

const REFUSED: ApiError =
    ApiError::Unauthorized("the token is missing, invalid, expired or revoked");

/// Turns a bearer token into an actor: a donor token as-is, a staff token only while its user
/// is active and the token carries the user's current token version. The role comes from the
/// database, not the token, so a demotion takes effect at once.
pub async fn actor_for_token(state: &AppState, token: &str) -> Result<Actor, ApiError> {
    Ok(session_for_token(state, token).await?.actor)
}

/// An authenticated token: its actor, and for staff the token version it was minted at (a
/// long-lived socket re-checks it).
pub struct TokenSession {
    /// Who.
    pub actor: Actor,
    /// The staff token's version; `None` for a donor.
    pub token_version: Option<i32>,
}

/// [`actor_for_token`], keeping the staff token's version.
pub async fn session_for_token(state: &AppState, token: &str) -> Result<TokenSession, ApiError> {
    let claims = state.tokens.check(token).ok_or(REFUSED)?;
    match claims.kind {
        Kind::Donor => Ok(TokenSession {
            actor: donor_actor(claims)?,
            token_version: None,
        }),
        Kind::Staff => {
            let id = claims.sub.parse().map(UserId).map_err(|_| REFUSED)?;
            let version = claims.ver.ok_or(REFUSED)?;
            let user = state
                .services
                .accounts
                .authenticate(id, version)
                .await
                .map_err(|e| match e {
                    concierge_domain::DomainError::Unauthenticated => REFUSED,
                    other => other.into(),
                })?;
            Ok(TokenSession {
                actor: Actor::Staff {
                    user_id: user.id,
                    role: user.role,
                },
                token_version: Some(version),
            })
        }
    }
}

/// The actor of a donor token's claims. A token minted before donor sessions existed names
/// none and stands for the session the migration gave its ticket, `legacy-<ticket id>`.
fn donor_actor(claims: Claims) -> Result<Actor, ApiError> {
    let ticket_id = claims.tid.ok_or(REFUSED)?;
    Ok(Actor::Donor {
        donor_id: claims.sub,
        ticket_id: TicketId(ticket_id),
        session: claims.ses.unwrap_or_else(|| format!("legacy-{ticket_id}")),
        identity_verified: claims.idv,
    })
}

/// Checks an integrating app's word for a donor id: `donorIdHash` must be the hex
/// HMAC-SHA256 of the donor id under `DONOR_IDENTITY_SECRET` (the identity verification of
/// chat widgets), compared in constant time.
pub struct DonorIdentity {
    mac: Hmac<Sha256>,
}

impl DonorIdentity {
    /// The checker for the shared secret (HMAC takes a key of any length, so this is `None`
    /// only in theory).
    pub fn new(secret: &str) -> Option<Self> {
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).ok()?;
        Some(Self { mac })
    }

    /// Whether `hash` (hex, either case) is the HMAC of `donor_id`.
    pub fn vouches(&self, donor_id: &str, hash: &str) -> bool {
        let Some(given) = decode_hex(hash.trim()) else {
            return false;
        };
        let mut mac = self.mac.clone();
        mac.update(donor_id.as_bytes());
        mac.verify_slice(&given).is_ok()
    }

    /// The hex HMAC of `donor_id`, as an app computes it (for tests and tools).
    pub fn hash(&self, donor_id: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(donor_id.as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if hex.len() % 2 != 0 || !hex.is_ascii() {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
        .collect()
}

/// The bearer token of a request, if it has an Authorization header; a malformed one is 401.
pub(crate) fn bearer(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| REFUSED)?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim().to_string()))
        }
        _ => Err(REFUSED),
    }
}

fn state_of(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::Internal("application state missing".into()))
}

/// The authenticated caller; a request without a valid token is refused with 401.
pub struct Caller(pub Actor);

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let found = bearer(req).and_then(|t| Ok((state_of(req)?, t)));
        Box::pin(async move {
            let (state, token) = found?;
            let token = token.ok_or(ApiError::Unauthorized("a bearer token is required"))?;
            let actor = actor_for_token(&state, &token).await?;
            concierge_store::audit::set_actor(AuditActor::of(&actor));
            Ok(Caller(actor))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn donor_identity_takes_only_the_hmac_of_that_donor_id() {
        let identity = DonorIdentity::new("shared-secret").unwrap();
        let hash = identity.hash("donor-1");
        assert_eq!(hash.len(), 64);
        assert!(identity.vouches("donor-1", &hash));
        assert!(identity.vouches("donor-1", &hash.to_uppercase()));
        assert!(!identity.vouches("donor-2", &hash));
        assert!(!DonorIdentity::new("other-secret")
            .unwrap()
            .vouches("donor-1", &hash));
        for bad in ["", "zz", &hash[..63], &hash[..62], "é"] {
            assert!(!identity.vouches("donor-1", bad), "{bad:?}");
        }
    }

    fn tokens() -> Tokens {
        Tokens::new(
            "unit-test-secret-that-is-long-enough",
            Duration::from_secs(60),
            Duration::from_secs(60),
        )
    }

    #[test]
    fn a_donor_token_carries_its_session_and_vouching() {
        let tokens = tokens();
        let token = tokens.donor("d-1", TicketId(7), "s-abc", true).unwrap();
        let claims = tokens.check(&token).unwrap();
        assert_eq!(
            donor_actor(claims).unwrap(),
            Actor::Donor {
                donor_id: "d-1".into(),
                ticket_id: TicketId(7),
                session: "s-abc".into(),
                identity_verified: true,
            }
        );
    }

    #[test]
    fn a_donor_token_from_before_sessions_stands_for_its_tickets_legacy_session() {
        let tokens = tokens();
        let now = chrono::Utc::now().timestamp();
        // What the server minted before sessions: no `ses`, no `idv`.
        let old = serde_json::json!({
            "sub": "d-1", "kind": "donor", "tid": 42, "iat": now, "exp": now + 60
        });
        let token = encode(&Header::new(Algorithm::HS256), &old, &tokens.encoding).unwrap();
        let actor = donor_actor(tokens.check(&token).unwrap()).unwrap();
        assert_eq!(
            actor,
            Actor::Donor {
                donor_id: "d-1".into(),
                ticket_id: TicketId(42),
                session: "legacy-42".into(),
                identity_verified: false,
            }
        );
    }

    #[test]
    fn donor_identity_matches_a_known_hmac_sha256() {
        // RFC 4231 test case 2.
        let identity = DonorIdentity::new("Jefe").unwrap();
        assert_eq!(
            identity.hash("what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
