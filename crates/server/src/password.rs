//! bcrypt behind the domain's `PasswordHasher` port. Hashing runs on blocking threads so it
//! never stalls the async workers.

use async_trait::async_trait;
use concierge_domain::ports::PasswordHasher;
use concierge_domain::{DomainError, Result};
use tokio::sync::OnceCell;

/// bcrypt with a configured cost.
pub struct BcryptHasher {
    cost: u32,
    /// A hash of a random password at the same cost, for logins of unknown accounts.
    decoy: OnceCell<String>,
}

impl BcryptHasher {
    /// A hasher at `cost` (4..=31).
    pub fn new(cost: u32) -> Self {
        Self {
            cost,
            decoy: OnceCell::new(),
        }
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(DomainError::storage)
}

#[async_trait]
impl PasswordHasher for BcryptHasher {
    async fn hash(&self, password: String) -> Result<String> {
        let cost = self.cost;
        blocking(move || bcrypt::hash(password, cost))
            .await?
            .map_err(DomainError::storage)
    }

    async fn verify(&self, password: String, hash: String) -> Result<bool> {
        blocking(move || bcrypt::verify(password, &hash).unwrap_or(false)).await
    }

    async fn verify_absent(&self, password: String) -> Result<()> {
        let decoy = self
            .decoy
            .get_or_try_init(|| self.hash("decoy password for unknown accounts".into()))
            .await?
            .clone();
        self.verify(password, decoy).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_decoys_never_match() {
        let hasher = BcryptHasher::new(4);
        let hash = hasher.hash("correct horse".into()).await.unwrap();
        assert!(hasher
            .verify("correct horse".into(), hash.clone())
            .await
            .unwrap());
        assert!(!hasher.verify("wrong".into(), hash).await.unwrap());
        assert!(!hasher
            .verify("x".into(), "not a hash".into())
            .await
            .unwrap());
        hasher.verify_absent("anything".into()).await.unwrap();
    }
}
