//! `AccountService`: login, token users, sign-up, passwords and user administration.

use super::*;
use crate::services::{NewAccount, Registration};
use crate::user::{NewUser, UserChanges};

fn hasher() -> MockPasswordHasher {
    MockPasswordHasher::new()
}

/// A user repository that finds `user` with hash `"stored-hash"` under the login `login`.
fn login_finds(login: &'static str, user: User) -> MockUserRepository {
    let mut users = MockUserRepository::new();
    users
        .expect_find_for_login()
        .withf(move |l: &str| l == login)
        .times(1)
        .returning(move |_| Ok(Some((user.clone(), "stored-hash".to_string()))));
    no_user_writes(&mut users);
    users
}

fn account(username: &str, role: Role) -> NewAccount {
    NewAccount {
        username: username.to_string(),
        email: None,
        name: "New Person".to_string(),
        password: "a-long-password".to_string(),
        role,
    }
}

/// A hasher that hashes once, answering `"new-hash"`.
fn hashes_once() -> MockPasswordHasher {
    let mut h = hasher();
    h.expect_hash()
        .times(1)
        .returning(|_| Ok("new-hash".into()));
    h
}

/// Echoes a created user back as stored.
fn created(new: NewUser) -> Result<User> {
    Ok(User {
        username: new.username,
        email: new.email,
        name: new.name,
        role: new.role,
        ..user(UserId(99), new.role)
    })
}

// ---- login -------------------------------------------------------------------------------

#[tokio::test]
async fn login_with_unknown_user_spends_verify_absent_and_is_unauthenticated() {
    let mut users = MockUserRepository::new();
    users
        .expect_find_for_login()
        .withf(|l: &str| l == "ghost")
        .times(1)
        .returning(|_| Ok(None));
    no_user_writes(&mut users);
    let mut h = hasher();
    h.expect_verify().never();
    h.expect_verify_absent()
        .withf(|p| p == "some-password")
        .times(1)
        .returning(|_| Ok(()));

    let result = account_service(users, h)
        .login("ghost", "some-password")
        .await;

    assert_err!(result, DomainError::Unauthenticated);
}

#[tokio::test]
async fn login_with_wrong_password_is_unauthenticated() {
    let users = login_finds("user10", user(AGENT_ID, Role::Agent));
    let mut h = hasher();
    h.expect_verify()
        .withf(|p, hash| p == "wrong-password" && hash == "stored-hash")
        .times(1)
        .returning(|_, _| Ok(false));
    h.expect_verify_absent().never();

    let result = account_service(users, h)
        .login("user10", "wrong-password")
        .await;

    assert_err!(result, DomainError::Unauthenticated);
}

#[tokio::test]
async fn login_of_deactivated_user_with_right_password_is_unauthenticated() {
    let users = login_finds("user10", inactive(user(AGENT_ID, Role::Agent)));
    let mut h = hasher();
    // The password is still checked, so timing does not tell deactivated accounts apart.
    h.expect_verify().times(1).returning(|_, _| Ok(true));

    let result = account_service(users, h)
        .login("user10", "right-password")
        .await;

    assert_err!(result, DomainError::Unauthenticated);
}

#[tokio::test]
async fn login_lowercases_and_trims_the_login_name() {
    let users = login_finds("ann@example.org", user(AGENT_ID, Role::Agent));
    let mut h = hasher();
    h.expect_verify()
        .withf(|p, _| p == "right-password")
        .times(1)
        .returning(|_, _| Ok(true));

    let found = account_service(users, h)
        .login("  Ann@Example.ORG ", "right-password")
        .await
        .unwrap();

    assert_eq!(found.id, AGENT_ID);
}

#[tokio::test]
async fn login_with_empty_fields_is_invalid_and_looks_nothing_up() {
    let mut users = MockUserRepository::new();
    users.expect_find_for_login().never();
    let mut h = hasher();
    h.expect_verify().never();
    h.expect_verify_absent().never();

    let result = account_service(users, h).login("   ", "").await;

    assert_eq!(invalid_fields(result), ["username", "password"]);
}

#[tokio::test]
async fn login_with_an_oversized_password_skips_the_lookup_but_still_spends_hashing_time() {
    let mut users = MockUserRepository::new();
    users.expect_find_for_login().never();
    let mut h = hasher();
    h.expect_verify().never();
    h.expect_verify_absent().times(1).returning(|_| Ok(()));

    let result = account_service(users, h)
        .login("user10", &"x".repeat(5000))
        .await;

    assert_err!(result, DomainError::Unauthenticated);
}

// ---- authenticate ------------------------------------------------------------------------

#[tokio::test]
async fn authenticate_accepts_an_active_user_with_the_current_token_version() {
    let users = users_holding(vec![user(AGENT_ID, Role::Agent)]);

    let found = account_service(users, hasher())
        .authenticate(AGENT_ID, 1)
        .await
        .unwrap();

    assert_eq!(found.id, AGENT_ID);
}

#[tokio::test]
async fn authenticate_refuses_a_deactivated_user() {
    let users = users_holding(vec![inactive(user(AGENT_ID, Role::Agent))]);

    let result = account_service(users, hasher())
        .authenticate(AGENT_ID, 1)
        .await;

    assert_err!(result, DomainError::Unauthenticated);
}

#[tokio::test]
async fn authenticate_refuses_a_token_minted_before_the_last_password_change() {
    let users = users_holding(vec![User {
        token_version: 2,
        ..user(AGENT_ID, Role::Agent)
    }]);

    let result = account_service(users, hasher())
        .authenticate(AGENT_ID, 1)
        .await;

    assert_err!(result, DomainError::Unauthenticated);
}

#[tokio::test]
async fn authenticate_refuses_a_deleted_user() {
    let users = users_holding(vec![]);

    let result = account_service(users, hasher())
        .authenticate(AGENT_ID, 1)
        .await;

    assert_err!(result, DomainError::Unauthenticated);
}

// ---- remembered sessions -----------------------------------------------------------------

const SESSION_TTL: std::time::Duration = std::time::Duration::from_secs(2);

/// A user repository whose user `AGENT_ID` has the token version in `version`, counting reads.
fn versioned_agent(
    version: Arc<std::sync::atomic::AtomicI32>,
    reads: Arc<std::sync::atomic::AtomicUsize>,
) -> MockUserRepository {
    use std::sync::atomic::Ordering::SeqCst;
    let mut users = MockUserRepository::new();
    let current = version.clone();
    users.expect_get().returning(move |id| {
        reads.fetch_add(1, SeqCst);
        Ok(Some(User {
            token_version: current.load(SeqCst),
            ..user(id, Role::Agent)
        }))
    });
    users
}

#[tokio::test]
async fn authenticate_with_a_session_ttl_reads_the_user_once_within_it() {
    let reads = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let users = versioned_agent(Arc::new(1.into()), reads.clone());
    let service = account_service(users, hasher()).with_session_ttl(SESSION_TTL);

    for _ in 0..3 {
        assert_eq!(
            service.authenticate(AGENT_ID, 1).await.unwrap().id,
            AGENT_ID
        );
    }

    assert_eq!(reads.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn authenticate_without_a_session_ttl_reads_the_user_every_time() {
    let reads = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let users = versioned_agent(Arc::new(1.into()), reads.clone());
    let service = account_service(users, hasher());

    for _ in 0..3 {
        service.authenticate(AGENT_ID, 1).await.unwrap();
    }

    assert_eq!(reads.load(std::sync::atomic::Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_password_change_through_the_service_revokes_a_remembered_token_at_once() {
    let version = Arc::new(std::sync::atomic::AtomicI32::new(1));
    let mut users = versioned_agent(version.clone(), Arc::default());
    users
        .expect_password_hash()
        .returning(|_| Ok(Some("stored-hash".into())));
    let bumped = version.clone();
    users
        .expect_set_password()
        .times(1)
        .returning(move |id, _, _| {
            bumped.store(2, std::sync::atomic::Ordering::SeqCst);
            Ok(User {
                token_version: 2,
                ..user(id, Role::Agent)
            })
        });
    let mut h = hashes_once();
    h.expect_verify().times(1).returning(|_, _| Ok(true));
    let service = account_service(users, h).with_session_ttl(SESSION_TTL);
    service.authenticate(AGENT_ID, 1).await.unwrap();

    service
        .change_password(&agent(), "old-password", "brand-new-password")
        .await
        .unwrap();

    assert_err!(
        service.authenticate(AGENT_ID, 1).await,
        DomainError::Unauthenticated
    );
    assert_eq!(
        service.authenticate(AGENT_ID, 2).await.unwrap().id,
        AGENT_ID
    );
}

#[tokio::test]
async fn a_token_newer_than_the_remembered_user_reads_the_user_again() {
    // The password was changed on another instance: the new token carries version 2.
    let version = Arc::new(std::sync::atomic::AtomicI32::new(1));
    let reads = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let users = versioned_agent(version.clone(), reads.clone());
    let service = account_service(users, hasher()).with_session_ttl(SESSION_TTL);
    service.authenticate(AGENT_ID, 1).await.unwrap();
    version.store(2, std::sync::atomic::Ordering::SeqCst);

    assert_eq!(
        service.authenticate(AGENT_ID, 2).await.unwrap().id,
        AGENT_ID
    );
    assert_eq!(reads.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[tokio::test]
async fn deactivating_a_user_through_the_service_refuses_its_remembered_token_at_once() {
    let active = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let mut users = MockUserRepository::new();
    let current = active.clone();
    users.expect_get().returning(move |id| {
        Ok(Some(User {
            is_active: current.load(std::sync::atomic::Ordering::SeqCst),
            ..user(id, Role::Agent)
        }))
    });
    let flip = active.clone();
    users.expect_update().times(1).returning(move |id, _, _| {
        flip.store(false, std::sync::atomic::Ordering::SeqCst);
        Ok(inactive(user(id, Role::Agent)))
    });
    let service = account_service(users, hasher()).with_session_ttl(SESSION_TTL);
    service.authenticate(AGENT_ID, 1).await.unwrap();

    service
        .update(
            &admin(),
            AGENT_ID,
            UserChanges {
                is_active: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();

    assert_err!(
        service.authenticate(AGENT_ID, 1).await,
        DomainError::Unauthenticated
    );
}

// ---- register ----------------------------------------------------------------------------

fn registration() -> Registration {
    Registration {
        name: "Ann".to_string(),
        email: "Ann@Example.org".to_string(),
        password: "a-long-password".to_string(),
    }
}

#[tokio::test]
async fn register_when_signup_is_disabled_is_forbidden_and_creates_nothing() {
    let mut users = MockUserRepository::new();
    no_user_writes(&mut users);
    let mut h = hasher();
    h.expect_hash().never();

    let result = account_service(users, h)
        .register(registration(), false)
        .await;

    assert_err!(result, DomainError::Forbidden(_));
}

#[tokio::test]
async fn register_always_creates_an_agent_named_by_its_lowercased_email() {
    let mut users = MockUserRepository::new();
    users
        .expect_create()
        .withf(|u| {
            u.role == Role::Agent
                && u.username == "ann@example.org"
                && u.email.as_deref() == Some("ann@example.org")
                && u.password_hash == "new-hash"
                && u.created_at == now()
        })
        .times(1)
        .returning(created);
    let mut h = hasher();
    h.expect_hash()
        .withf(|p| p == "a-long-password")
        .times(1)
        .returning(|_| Ok("new-hash".into()));

    let user = account_service(users, h)
        .register(registration(), true)
        .await
        .unwrap();

    assert_eq!(user.role, Role::Agent);
}

#[tokio::test]
async fn register_with_bad_email_and_short_password_is_invalid_and_creates_nothing() {
    let mut users = MockUserRepository::new();
    no_user_writes(&mut users);
    let mut h = hasher();
    h.expect_hash().never();
    let input = Registration {
        email: "not-an-email".into(),
        password: "short".into(),
        ..registration()
    };

    let result = account_service(users, h).register(input, true).await;

    assert_eq!(invalid_fields(result), ["email", "password"]);
}

// ---- own account -------------------------------------------------------------------------

#[tokio::test]
async fn change_password_with_wrong_current_password_is_invalid_and_keeps_the_old_one() {
    let mut users = MockUserRepository::new();
    users
        .expect_password_hash()
        .withf(|id| *id == AGENT_ID)
        .times(1)
        .returning(|_| Ok(Some("stored-hash".into())));
    no_user_writes(&mut users);
    let mut h = hasher();
    h.expect_verify()
        .withf(|p, hash| p == "not-my-password" && hash == "stored-hash")
        .times(1)
        .returning(|_, _| Ok(false));
    h.expect_hash().never();

    let result = account_service(users, h)
        .change_password(&agent(), "not-my-password", "brand-new-password")
        .await;

    assert_eq!(invalid_fields(result), ["currentPassword"]);
}

#[tokio::test]
async fn change_password_stores_the_new_hash_for_the_caller() {
    let mut users = MockUserRepository::new();
    users
        .expect_password_hash()
        .returning(|_| Ok(Some("stored-hash".into())));
    users
        .expect_set_password()
        .withf(|id, hash, at| *id == AGENT_ID && hash == "new-hash" && *at == now())
        .times(1)
        .returning(|_, _, _| {
            Ok(User {
                token_version: 2,
                ..user(AGENT_ID, Role::Agent)
            })
        });
    let mut h = hashes_once();
    h.expect_verify().times(1).returning(|_, _| Ok(true));

    let user = account_service(users, h)
        .change_password(&agent(), "old-password", "brand-new-password")
        .await
        .unwrap();

    assert_eq!(user.token_version, 2);
}

#[tokio::test]
async fn change_password_refuses_a_too_short_new_password_before_checking_anything() {
    let mut users = MockUserRepository::new();
    users.expect_password_hash().never();
    no_user_writes(&mut users);

    let result = account_service(users, hasher())
        .change_password(&agent(), "old-password", "short")
        .await;

    assert_eq!(invalid_fields(result), ["newPassword"]);
}

#[tokio::test]
async fn donor_cannot_change_a_password() {
    let mut users = MockUserRepository::new();
    users.expect_password_hash().never();
    no_user_writes(&mut users);

    let result = account_service(users, hasher())
        .change_password(&donor(DONOR_A, 1), "old-password", "brand-new-password")
        .await;

    assert_err!(result, DomainError::Forbidden(_));
}

#[tokio::test]
async fn clearing_the_push_token_with_blank_text_stores_none() {
    let mut users = MockUserRepository::new();
    users
        .expect_set_push_token()
        .withf(|id, token| *id == AGENT_ID && token.is_none())
        .times(1)
        .returning(|_, _| Ok(()));

    account_service(users, hasher())
        .set_push_token(&agent(), Some("   "))
        .await
        .unwrap();
}

// ---- user administration: who may ----------------------------------------------------------

#[tokio::test]
async fn agent_cannot_list_users() {
    let mut users = MockUserRepository::new();
    users.expect_list().never();

    let result = account_service(users, hasher())
        .list(&agent(), Default::default())
        .await;

    assert_err!(result, DomainError::Forbidden(_));
}

#[tokio::test]
async fn admin_lists_users() {
    let mut users = MockUserRepository::new();
    users.expect_list().times(1).returning(|_| Ok(empty_page()));

    account_service(users, hasher())
        .list(&admin(), Default::default())
        .await
        .unwrap();
}

#[tokio::test]
async fn agent_cannot_create_users_even_agents() {
    let mut users = MockUserRepository::new();
    no_user_writes(&mut users);
    let mut h = hasher();
    h.expect_hash().never();

    let result = account_service(users, h)
        .create(&agent(), account("newbie", Role::Agent))
        .await;

    assert_err!(result, DomainError::Forbidden(_));
}

#[tokio::test]
async fn agent_cannot_update_users() {
    let mut users = users_holding(vec![user(OTHER_AGENT_ID, Role::Agent)]);
    no_user_writes(&mut users);
    let changes = UserChanges {
        name: Some("Renamed".into()),
        ..Default::default()
    };

    let result = account_service(users, hasher())
        .update(&agent(), OTHER_AGENT_ID, changes)
        .await;

    assert_err!(result, DomainError::Forbidden(_));
}

#[tokio::test]
async fn admin_cannot_create_admins_or_super_admins() {
    for role in [Role::Admin, Role::SuperAdmin] {
        let mut users = MockUserRepository::new();
        no_user_writes(&mut users);
        let mut h = hasher();
        h.expect_hash().never();

        let result = account_service(users, h)
            .create(&admin(), account("boss", role))
            .await;

        assert_err!(result, DomainError::Forbidden(_));
    }
}

#[tokio::test]
async fn super_admin_creates_an_admin() {
    let mut users = MockUserRepository::new();
    users
        .expect_create()
        .withf(|u| u.role == Role::Admin && u.username == "boss" && u.password_hash == "new-hash")
        .times(1)
        .returning(created);

    let user = account_service(users, hashes_once())
        .create(&super_admin(), account("Boss", Role::Admin))
        .await
        .unwrap();

    assert_eq!(user.role, Role::Admin);
}

#[tokio::test]
async fn admin_creates_an_agent_with_a_lowercased_username() {
    let mut users = MockUserRepository::new();
    users
        .expect_create()
        .withf(|u| u.role == Role::Agent && u.username == "new.agent" && u.email.is_none())
        .times(1)
        .returning(created);
    let input = NewAccount {
        email: Some("  ".into()),
        ..account("New.Agent", Role::Agent)
    };

    account_service(users, hashes_once())
        .create(&admin(), input)
        .await
        .unwrap();
}

fn deactivate() -> UserChanges {
    UserChanges {
        is_active: Some(false),
        ..Default::default()
    }
}

fn set_role(role: Role) -> UserChanges {
    UserChanges {
        role: Some(role),
        ..Default::default()
    }
}

fn renamed(name: &str) -> UserChanges {
    UserChanges {
        name: Some(name.into()),
        ..Default::default()
    }
}

/// `actor` updates the one stored user, `target`, with `changes`; nothing may be written.
async fn refused_update(actor: &Actor, target: User, changes: UserChanges) -> Result<User> {
    let id = target.id;
    let mut users = users_holding(vec![target]);
    no_user_writes(&mut users);
    account_service(users, hasher())
        .update(actor, id, changes)
        .await
}

/// `actor` updates the one stored user, `target`, with `changes`; the one write must pass
/// `check` (id, changes, time) and stores the changes' role, activity and name.
async fn allowed_update(
    actor: &Actor,
    target: User,
    changes: UserChanges,
    check: impl Fn(&UserId, &UserChanges, &DateTime<Utc>) -> bool + Send + 'static,
) -> User {
    let id = target.id;
    let mut users = users_holding(vec![target.clone()]);
    users
        .expect_update()
        .withf(check)
        .times(1)
        .returning(move |_, c, _| {
            Ok(User {
                role: c.role.unwrap_or(target.role),
                is_active: c.is_active.unwrap_or(target.is_active),
                name: c.name.unwrap_or_else(|| target.name.clone()),
                ..target.clone()
            })
        });
    account_service(users, hasher())
        .update(actor, id, changes)
        .await
        .unwrap()
}

#[tokio::test]
async fn admin_cannot_touch_a_super_admin() {
    let result = refused_update(&admin(), user(SUPER_ID, Role::SuperAdmin), deactivate()).await;

    assert_err!(result, DomainError::Forbidden(_));
}

#[tokio::test]
async fn admin_cannot_deactivate_demote_or_rename_another_admin() {
    const OTHER_ADMIN: UserId = UserId(21);
    for changes in [deactivate(), set_role(Role::Agent), renamed("Renamed")] {
        let result = refused_update(&admin(), user(OTHER_ADMIN, Role::Admin), changes).await;

        assert_err!(result, DomainError::Forbidden(_));
    }
}

#[tokio::test]
async fn super_admin_deactivates_and_demotes_an_admin() {
    let changes = UserChanges {
        is_active: Some(false),
        role: Some(Role::Agent),
        ..Default::default()
    };

    let changed = allowed_update(
        &super_admin(),
        user(ADMIN_ID, Role::Admin),
        changes,
        |id, c, _| *id == ADMIN_ID && c.is_active == Some(false) && c.role == Some(Role::Agent),
    )
    .await;

    assert_eq!((changed.role, changed.is_active), (Role::Agent, false));
}

#[tokio::test]
async fn admin_renames_itself_through_user_administration() {
    let changed = allowed_update(
        &admin(),
        user(ADMIN_ID, Role::Admin),
        renamed("New Name"),
        |id, c, _| *id == ADMIN_ID && c.name.as_deref() == Some("New Name"),
    )
    .await;

    assert_eq!(changed.name, "New Name");
}

#[tokio::test]
async fn admin_cannot_promote_an_agent_to_admin() {
    let result = refused_update(&admin(), user(AGENT_ID, Role::Agent), set_role(Role::Admin)).await;

    assert_err!(result, DomainError::Forbidden(_));
}

#[tokio::test]
async fn super_admin_promotes_an_agent_to_admin() {
    let changed = allowed_update(
        &super_admin(),
        user(AGENT_ID, Role::Agent),
        set_role(Role::Admin),
        |id, c, at| *id == AGENT_ID && c.role == Some(Role::Admin) && *at == now(),
    )
    .await;

    assert_eq!(changed.role, Role::Admin);
}

#[tokio::test]
async fn admin_cannot_deactivate_itself() {
    let result = refused_update(&admin(), user(ADMIN_ID, Role::Admin), deactivate()).await;

    assert_eq!(invalid_fields(result), ["isActive"]);
}

#[tokio::test]
async fn admins_cannot_demote_themselves() {
    for (me, role, lower) in [
        (admin(), Role::Admin, Role::Agent),
        (super_admin(), Role::SuperAdmin, Role::Admin),
    ] {
        let (id, _) = me.staff().unwrap();

        let result = refused_update(&me, user(id, role), set_role(lower)).await;

        assert_eq!(invalid_fields(result), ["isActive"], "{role} -> {lower}");
    }
}

#[tokio::test]
async fn admin_deactivates_an_agent() {
    let changed = allowed_update(
        &admin(),
        user(AGENT_ID, Role::Agent),
        deactivate(),
        |id, c, _| *id == AGENT_ID && c.is_active == Some(false) && c.role.is_none(),
    )
    .await;

    assert!(!changed.is_active);
}

#[tokio::test]
async fn updating_an_unknown_user_is_not_found() {
    let mut users = users_holding(vec![]);
    no_user_writes(&mut users);

    let result = account_service(users, hasher())
        .update(&admin(), UserId(404), UserChanges::default())
        .await;

    assert_err!(result, DomainError::NotFound(_));
}

// ---- seeding -----------------------------------------------------------------------------

#[tokio::test]
async fn seed_super_admin_creates_one_when_no_user_exists() {
    let mut users = MockUserRepository::new();
    users.expect_count().times(1).returning(|| Ok(0));
    users
        .expect_create()
        .withf(|u| {
            u.role == Role::SuperAdmin && u.username == "admin" && u.password_hash == "new-hash"
        })
        .times(1)
        .returning(created);

    let seeded = account_service(users, hashes_once())
        .seed_super_admin("Admin", "a-long-password")
        .await
        .unwrap();

    assert!(seeded);
}

#[tokio::test]
async fn seed_super_admin_does_nothing_when_a_user_exists() {
    let mut users = MockUserRepository::new();
    users.expect_count().times(1).returning(|| Ok(1));
    no_user_writes(&mut users);
    let mut h = hasher();
    h.expect_hash().never();

    let seeded = account_service(users, h)
        .seed_super_admin("admin", "a-long-password")
        .await
        .unwrap();

    assert!(!seeded);
}

#[tokio::test]
async fn seed_super_admin_treats_a_conflict_as_already_seeded() {
    let mut users = MockUserRepository::new();
    users.expect_count().returning(|| Ok(0));
    users
        .expect_create()
        .times(1)
        .returning(|_| Err(DomainError::Conflict("username taken".into())));

    let seeded = account_service(users, hashes_once())
        .seed_super_admin("admin", "a-long-password")
        .await
        .unwrap();

    assert!(!seeded);
}

#[tokio::test]
async fn seed_super_admin_reports_a_storage_failure() {
    let mut users = MockUserRepository::new();
    users.expect_count().returning(|| Ok(0));
    users
        .expect_create()
        .times(1)
        .returning(|_| Err(DomainError::storage(std::io::Error::other("disk full"))));

    let result = account_service(users, hashes_once())
        .seed_super_admin("admin", "a-long-password")
        .await;

    assert_err!(result, DomainError::Storage(_));
}

// ---- open sessions -----------------------------------------------------------------------

/// A repository whose `get` answers `stored` every time, counting the reads.
fn stored_as(stored: User, reads: usize) -> MockUserRepository {
    let mut users = MockUserRepository::new();
    users
        .expect_get()
        .times(reads)
        .returning(move |_| Ok(Some(stored.clone())));
    no_user_writes(&mut users);
    users
}

#[tokio::test]
async fn an_open_session_ends_when_its_user_is_deactivated_demoted_or_changes_password() {
    let agent = user(AGENT_ID, Role::Agent);
    let valid = |stored: User| async move {
        account_service(stored_as(stored, 1), hasher())
            .still_valid(AGENT_ID, 1, Role::Agent)
            .await
    };
    assert!(valid(agent.clone()).await.expect("a read"));
    let deactivated = User {
        is_active: false,
        ..agent.clone()
    };
    assert!(!valid(deactivated).await.expect("a read"));
    let promoted = User {
        role: Role::Admin,
        ..agent.clone()
    };
    assert!(!valid(promoted).await.expect("a read"));
    let new_password = User {
        token_version: 2,
        ..agent
    };
    assert!(!valid(new_password).await.expect("a read"));
}

#[tokio::test]
async fn an_open_session_is_rechecked_from_the_store_not_the_session_cache() {
    let agent = user(AGENT_ID, Role::Agent);
    let service = account_service(stored_as(agent, 2), hasher())
        .with_session_ttl(std::time::Duration::from_secs(60));

    // Both checks read the store, though the first put the user in the cache.
    for _ in 0..2 {
        assert!(service
            .still_valid(AGENT_ID, 1, Role::Agent)
            .await
            .expect("a read"));
    }
}
