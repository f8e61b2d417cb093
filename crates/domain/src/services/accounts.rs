//! Logins, the users behind tokens, profiles and user administration.

use super::sessions::SessionCache;
use super::Ports;
use crate::actor::Actor;
use crate::error::{DomainError, Result};
use crate::ids::UserId;
use crate::page::{Page, PageRequest};
use crate::user::{self, NewUser, Role, User, UserChanges};
use std::sync::Arc;
use std::time::Duration;

/// Self-service sign-up.
#[derive(Debug, Clone, PartialEq)]
pub struct Registration {
    /// Display name.
    pub name: String,
    /// Email; also the username.
    pub email: String,
    /// Password.
    pub password: String,
}

/// An account an admin creates.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAccount {
    /// Login name.
    pub username: String,
    /// Email.
    pub email: Option<String>,
    /// Display name.
    pub name: String,
    /// Password.
    pub password: String,
    /// Role.
    pub role: Role,
}

/// Accounts and authentication.
///
/// The operator creates an account; its user logs in; a wrong password and an unknown name
/// get the same answer. (Hashing here is a `mockall` mock of the `mock` feature.)
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> concierge_domain::Result<()> {
/// use concierge_domain::memory::MemoryStore;
/// use concierge_domain::ports::{MockPasswordHasher, SystemClock};
/// use concierge_domain::services::{AccountService, NewAccount};
/// use concierge_domain::user::Role;
/// use concierge_domain::{Actor, DomainError};
/// use std::sync::Arc;
///
/// // Stores passwords as they are: for an example only.
/// let mut hasher = MockPasswordHasher::new();
/// hasher.expect_hash().returning(|p| Ok(format!("plain:{p}")));
/// hasher.expect_verify().returning(|p, hash| Ok(hash == format!("plain:{p}")));
/// hasher.expect_verify_absent().returning(|_| Ok(()));
///
/// let store = Arc::new(MemoryStore::new());
/// let accounts = AccountService::new(&store.ports(Arc::new(hasher), Arc::new(SystemClock)));
/// let account = NewAccount {
///     username: "amira".into(),
///     email: Some("amira@example.org".into()),
///     name: "Amira Haddad".into(),
///     password: "correct horse battery".into(),
///     role: Role::Agent,
/// };
/// let created = accounts.create(&Actor::System, account).await?;
///
/// // Username or email, any case.
/// let user = accounts.login("Amira@Example.org", "correct horse battery").await?;
/// assert_eq!(user.id, created.id);
/// assert!(matches!(
///     accounts.login("amira", "wrong password").await,
///     Err(DomainError::Unauthenticated)
/// ));
/// assert!(matches!(
///     accounts.login("nobody", "correct horse battery").await,
///     Err(DomainError::Unauthenticated)
/// ));
///
/// // A token carries the user's id and token version.
/// let same = accounts.authenticate(user.id, user.token_version).await?;
/// assert_eq!(same.username, "amira");
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct AccountService {
    ports: Ports,
    sessions: Arc<SessionCache>,
}

/// The longest password a login even tries; longer ones cannot be ours.
const MAX_LOGIN_PASSWORD: usize = 1024;

impl AccountService {
    /// Builds the service. Every [`authenticate`](Self::authenticate) reads the user; see
    /// [`with_session_ttl`](Self::with_session_ttl).
    pub fn new(ports: &Ports) -> Self {
        Self {
            ports: ports.clone(),
            sessions: Arc::default(),
        }
    }

    /// Lets [`authenticate`](Self::authenticate) trust a user it read less than `ttl` ago
    /// (zero: always read). Changes made through this service take effect at once; a
    /// deactivation, role change or password change made elsewhere (another instance, the
    /// CLI) takes effect here within `ttl`.
    pub fn with_session_ttl(mut self, ttl: Duration) -> Self {
        self.sessions = Arc::new(SessionCache::new(ttl));
        self
    }

    /// Stores validated changes to a user; the session cache forgets the user whatever the
    /// outcome, so the next check reads it again.
    async fn store_changes(&self, id: UserId, changes: UserChanges) -> Result<User> {
        let changed = self
            .ports
            .users
            .update(id, changes, self.ports.clock.now())
            .await;
        self.sessions.forget(id);
        changed
    }

    /// Checks a login name (username or email) and password. An unknown account, a wrong
    /// password and a deactivated account all get the same `Unauthenticated`, after the same
    /// amount of hashing work.
    pub async fn login(&self, login: &str, password: &str) -> Result<User> {
        let login = login.trim().to_lowercase();
        let mut errors = vec![];
        if login.is_empty() {
            errors.push(crate::FieldError::new("username", "must not be empty"));
        }
        // No account's name holds a control character; NUL would not even reach PostgreSQL.
        crate::validate::name_chars(&mut errors, "username", &login);
        if password.is_empty() {
            errors.push(crate::FieldError::new("password", "must not be empty"));
        }
        if !errors.is_empty() {
            return Err(DomainError::Invalid(errors));
        }
        let found = if login.len() > 254 || password.len() > MAX_LOGIN_PASSWORD {
            None
        } else {
            self.ports.users.find_for_login(&login).await?
        };
        match found {
            Some((user, hash)) => {
                let ok = self.ports.hasher.verify(password.to_string(), hash).await?;
                if ok && user.is_active {
                    Ok(user)
                } else {
                    Err(DomainError::Unauthenticated)
                }
            }
            None => {
                self.ports
                    .hasher
                    .verify_absent(password.to_string())
                    .await?;
                Err(DomainError::Unauthenticated)
            }
        }
    }

    /// The user behind a staff token: it must exist, be active, and the token must carry its
    /// current token version (a password change revokes older tokens).
    pub async fn authenticate(&self, id: UserId, token_version: i32) -> Result<User> {
        let now = self.ports.clock.now();
        let valid = |user: &User| user.is_active && user.token_version == token_version;
        if let Some(user) = self.sessions.get(id, now).filter(valid) {
            return Ok(user);
        }
        let ticket = self.sessions.ticket();
        match self.ports.users.get(id).await? {
            Some(user) => {
                self.sessions.put(user.clone(), now, ticket);
                if valid(&user) {
                    Ok(user)
                } else {
                    Err(DomainError::Unauthenticated)
                }
            }
            None => Err(DomainError::Unauthenticated),
        }
    }

    /// Whether a session opened as `role` with a token of `token_version` still stands, read
    /// from the store now (not from the session cache, whose entry it refreshes). A long-lived
    /// connection asks this periodically: a deactivation, a password change (new token version)
    /// or a role change ends the session.
    pub async fn still_valid(&self, id: UserId, token_version: i32, role: Role) -> Result<bool> {
        let now = self.ports.clock.now();
        let ticket = self.sessions.ticket();
        Ok(match self.ports.users.get(id).await? {
            Some(user) => {
                let valid =
                    user.is_active && user.token_version == token_version && user.role == role;
                self.sessions.put(user, now, ticket);
                valid
            }
            None => false,
        })
    }

    /// Self-service sign-up, when enabled: always an AGENT, whatever the request says.
    pub async fn register(&self, input: Registration, signup_enabled: bool) -> Result<User> {
        if !signup_enabled {
            return Err(DomainError::Forbidden("sign-up is disabled"));
        }
        let mut e = vec![];
        let name = user::parse_name(&mut e, &input.name);
        let email = user::parse_email(&mut e, &input.email);
        user::check_password(&mut e, "password", &input.password);
        crate::validate::finish(e, ())?;
        let password_hash = self.ports.hasher.hash(input.password).await?;
        self.ports
            .users
            .create(NewUser {
                username: email.clone(),
                email: Some(email),
                name,
                role: Role::Agent,
                password_hash,
                created_at: self.ports.clock.now(),
            })
            .await
    }

    /// The caller's own account.
    pub async fn me(&self, actor: &Actor) -> Result<User> {
        let (id, _) = actor.staff()?;
        self.ports
            .users
            .get(id)
            .await?
            .ok_or(DomainError::NotFound("user"))
    }

    /// Changes the caller's password. Every token minted before stops working.
    pub async fn change_password(&self, actor: &Actor, current: &str, new: &str) -> Result<User> {
        let (id, _) = actor.staff()?;
        let mut e = vec![];
        user::check_password(&mut e, "newPassword", new);
        crate::validate::finish(e, ())?;
        let hash = self
            .ports
            .users
            .password_hash(id)
            .await?
            .ok_or(DomainError::NotFound("user"))?;
        if current.len() > MAX_LOGIN_PASSWORD
            || !self.ports.hasher.verify(current.to_string(), hash).await?
        {
            return Err(DomainError::invalid("currentPassword", "is not correct"));
        }
        let new_hash = self.ports.hasher.hash(new.to_string()).await?;
        let changed = self
            .ports
            .users
            .set_password(id, new_hash, self.ports.clock.now())
            .await;
        self.sessions.forget(id);
        changed
    }

    /// Changes the caller's name and email.
    pub async fn update_profile(
        &self,
        actor: &Actor,
        name: Option<&str>,
        email: Option<Option<&str>>,
    ) -> Result<User> {
        let (id, _) = actor.staff()?;
        let mut e = vec![];
        let changes = UserChanges {
            name: name.map(|n| user::parse_name(&mut e, n)),
            email: email.map(|m| m.map(|m| user::parse_email(&mut e, m))),
            ..Default::default()
        };
        crate::validate::finish(e, ())?;
        self.store_changes(id, changes).await
    }

    /// Sets (or with `None` clears) the caller's push token.
    pub async fn set_push_token(&self, actor: &Actor, token: Option<&str>) -> Result<()> {
        let (id, _) = actor.staff()?;
        let mut e = vec![];
        let token = crate::validate::optional_text(
            &mut e,
            "fcmToken",
            token,
            crate::ticket::MAX_PUSH_TOKEN,
        );
        crate::validate::finish(e, ())?;
        self.ports.users.set_push_token(id, token).await
    }

    /// Users, for admins.
    pub async fn list(&self, actor: &Actor, page: PageRequest) -> Result<Page<User>> {
        actor.admin()?;
        self.ports.users.list(page).await
    }

    /// One user, for admins.
    pub async fn get(&self, actor: &Actor, id: UserId) -> Result<User> {
        actor.admin()?;
        self.ports
            .users
            .get(id)
            .await?
            .ok_or(DomainError::NotFound("user"))
    }

    /// Creates an account. Only a SUPER_ADMIN may create admins; the server's operator
    /// (`Actor::System`, e.g. `concierge create-user`) may create any role.
    pub async fn create(&self, actor: &Actor, input: NewAccount) -> Result<User> {
        let operator = matches!(actor, Actor::System);
        if !operator {
            actor.admin()?;
        }
        if !operator
            && input.role.is_admin()
            && !matches!(
                actor,
                Actor::Staff {
                    role: Role::SuperAdmin,
                    ..
                }
            )
        {
            return Err(DomainError::Forbidden(
                "only a super admin may create admins",
            ));
        }
        let mut e = vec![];
        let username = user::parse_username(&mut e, &input.username);
        let email = input
            .email
            .as_deref()
            .filter(|m| !m.trim().is_empty())
            .map(|m| user::parse_email(&mut e, m));
        let name = user::parse_name(&mut e, &input.name);
        user::check_password(&mut e, "password", &input.password);
        crate::validate::finish(e, ())?;
        let password_hash = self.ports.hasher.hash(input.password).await?;
        self.ports
            .users
            .create(NewUser {
                username,
                email,
                name,
                role: input.role,
                password_hash,
                created_at: self.ports.clock.now(),
            })
            .await
    }

    /// Changes another user's role, activity or name. Only a SUPER_ADMIN may manage admins:
    /// change another ADMIN or a SUPER_ADMIN, or hand out admin roles. Nobody may deactivate or
    /// demote themselves.
    pub async fn update(&self, actor: &Actor, id: UserId, changes: UserChanges) -> Result<User> {
        let me = actor.admin()?;
        let is_super = matches!(
            actor,
            Actor::Staff {
                role: Role::SuperAdmin,
                ..
            }
        );
        let target = self
            .ports
            .users
            .get(id)
            .await?
            .ok_or(DomainError::NotFound("user"))?;
        let raises_to_admin = changes.role.is_some_and(Role::is_admin);
        let another_admin = target.role.is_admin() && id != me;
        if !is_super && (another_admin || raises_to_admin) {
            return Err(DomainError::Forbidden(
                "only a super admin may manage admins",
            ));
        }
        if id == me
            && (changes.is_active == Some(false) || changes.role.is_some_and(|r| r < target.role))
        {
            return Err(DomainError::invalid(
                "isActive",
                "you cannot deactivate or demote yourself",
            ));
        }
        let mut e = vec![];
        let changes = UserChanges {
            name: changes.name.as_deref().map(|n| user::parse_name(&mut e, n)),
            email: changes
                .email
                .map(|m| m.as_deref().map(|m| user::parse_email(&mut e, m))),
            ..changes
        };
        crate::validate::finish(e, ())?;
        self.store_changes(id, changes).await
    }

    /// Creates the first SUPER_ADMIN when no user exists yet. Returns whether it did; a second
    /// instance racing to do the same finds the name taken and returns `false`.
    pub async fn seed_super_admin(&self, username: &str, password: &str) -> Result<bool> {
        if self.ports.users.count().await? > 0 {
            return Ok(false);
        }
        let mut e = vec![];
        let username = user::parse_username(&mut e, username);
        user::check_password(&mut e, "SUPER_ADMIN_PASSWORD", password);
        crate::validate::finish(e, ())?;
        let password_hash = self.ports.hasher.hash(password.to_string()).await?;
        self.create_seed(
            username.clone(),
            "Super Admin",
            Role::SuperAdmin,
            password_hash,
        )
        .await
    }

    /// Creates an ADMIN named `username` unless a user of that name exists (its password is
    /// then left alone). Returns whether it created one; running it again changes nothing.
    pub async fn seed_admin(&self, username: &str, password: &str) -> Result<bool> {
        let mut e = vec![];
        let username = user::parse_username(&mut e, username);
        user::check_password(&mut e, "ADMIN_PASSWORD", password);
        crate::validate::finish(e, ())?;
        if self.ports.users.find_for_login(&username).await?.is_some() {
            return Ok(false);
        }
        let password_hash = self.ports.hasher.hash(password.to_string()).await?;
        self.create_seed(username, "Admin", Role::Admin, password_hash)
            .await
    }

    /// Creates a seeded account; `false` when its name is taken (by an earlier run, or
    /// another instance seeding at the same time).
    async fn create_seed(
        &self,
        username: String,
        name: &str,
        role: Role,
        password_hash: String,
    ) -> Result<bool> {
        let created = self
            .ports
            .users
            .create(NewUser {
                username,
                email: None,
                name: name.to_string(),
                role,
                password_hash,
                created_at: self.ports.clock.now(),
            })
            .await;
        match created {
            Ok(_) => Ok(true),
            Err(DomainError::Conflict(_)) => Ok(false),
            Err(other) => Err(other),
        }
    }
}
