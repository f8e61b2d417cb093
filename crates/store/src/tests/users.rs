use super::harness::{every_page, staff, store_test};
use chrono::Utc;
use concierge_domain::ports::UserRepository;
use concierge_domain::user::{NewUser, Role, UserChanges};
use concierge_domain::{DomainError, UserId};

fn new_user(username: &str, email: Option<&str>) -> NewUser {
    NewUser {
        username: username.to_string(),
        email: email.map(str::to_string),
        name: "Ann O'Brien; DROP TABLE users;--".to_string(),
        role: Role::Admin,
        password_hash: "$2b$04$x".to_string(),
        created_at: Utc::now(),
    }
}

store_test!(users_round_trip, |store| {
    let created = store
        .create(new_user("ann", Some("ann@example.org")))
        .await
        .unwrap();
    assert_eq!(created.username, "ann");
    assert_eq!(created.name, "Ann O'Brien; DROP TABLE users;--");
    assert_eq!(created.role, Role::Admin);
    assert!(created.is_active);
    assert_eq!(created.token_version, 0);
    assert_eq!(store.get(created.id).await.unwrap(), Some(created.clone()));
    assert_eq!(store.get(UserId(9_999)).await.unwrap(), None);

    for login in ["ann", "ann@example.org", "ANN@Example.org"] {
        let (user, hash) = store.find_for_login(login).await.unwrap().unwrap();
        assert_eq!(user.id, created.id, "{login}");
        assert_eq!(hash, "$2b$04$x");
    }
    assert!(store.find_for_login("nobody").await.unwrap().is_none());
    assert_eq!(
        store.password_hash(created.id).await.unwrap().as_deref(),
        Some("$2b$04$x")
    );
    assert_eq!(store.count().await.unwrap(), 1);
});

store_test!(taken_usernames_and_emails_conflict, |store| {
    store
        .create(new_user("ann", Some("ann@example.org")))
        .await
        .unwrap();
    let bob = store.create(new_user("bob", None)).await.unwrap();
    // Several users may have no email.
    store.create(new_user("cy", None)).await.unwrap();

    match store
        .create(new_user("ann", Some("other@example.org")))
        .await
    {
        Err(DomainError::Conflict(m)) => assert_eq!(m, "username is taken"),
        other => panic!("{other:?}"),
    }
    match store.create(new_user("dee", Some("ann@example.org"))).await {
        Err(DomainError::Conflict(m)) => assert_eq!(m, "email is taken"),
        other => panic!("{other:?}"),
    }
    let changes = UserChanges {
        email: Some(Some("ann@example.org".into())),
        ..Default::default()
    };
    match store.update(bob.id, changes, Utc::now()).await {
        Err(DomainError::Conflict(m)) => assert_eq!(m, "email is taken"),
        other => panic!("{other:?}"),
    }
    assert_eq!(store.count().await.unwrap(), 3);
});

store_test!(updates_apply_only_given_fields, |store| {
    let ann = store
        .create(new_user("ann", Some("ann@example.org")))
        .await
        .unwrap();
    let later = Utc::now() + chrono::Duration::seconds(5);
    let changed = store
        .update(
            ann.id,
            UserChanges {
                name: Some("Ann B".into()),
                role: Some(Role::SuperAdmin),
                is_active: Some(false),
                email: None,
            },
            later,
        )
        .await
        .unwrap();
    assert_eq!(changed.name, "Ann B");
    assert_eq!(changed.role, Role::SuperAdmin);
    assert!(!changed.is_active);
    assert_eq!(changed.email.as_deref(), Some("ann@example.org"));
    assert!(changed.updated_at > ann.updated_at);

    let cleared = store
        .update(
            ann.id,
            UserChanges {
                email: Some(None),
                ..Default::default()
            },
            later,
        )
        .await
        .unwrap();
    assert_eq!(cleared.email, None);
    assert_eq!(cleared.name, "Ann B");

    assert!(matches!(
        store
            .update(UserId(404), UserChanges::default(), later)
            .await,
        Err(DomainError::NotFound("user"))
    ));
});

store_test!(set_password_bumps_the_token_version, |store| {
    let ann = staff(&store, "ann", "Ann").await;
    let changed = store
        .set_password(ann.id, "$2b$04$new".into(), Utc::now())
        .await
        .unwrap();
    assert_eq!(changed.token_version, ann.token_version + 1);
    assert_eq!(
        store.password_hash(ann.id).await.unwrap().as_deref(),
        Some("$2b$04$new")
    );
    let again = store
        .set_password(ann.id, "$2b$04$newer".into(), Utc::now())
        .await
        .unwrap();
    assert_eq!(again.token_version, ann.token_version + 2);
    assert!(matches!(
        store
            .set_password(UserId(404), "x".into(), Utc::now())
            .await,
        Err(DomainError::NotFound("user"))
    ));
});

store_test!(push_tokens_set_and_clear, |store| {
    let ann = staff(&store, "ann", "Ann").await;
    store
        .set_push_token(ann.id, Some("tok-1".into()))
        .await
        .unwrap();
    assert_eq!(
        store
            .get(ann.id)
            .await
            .unwrap()
            .unwrap()
            .fcm_token
            .as_deref(),
        Some("tok-1")
    );
    store.set_push_token(ann.id, None).await.unwrap();
    assert_eq!(store.get(ann.id).await.unwrap().unwrap().fcm_token, None);
    assert!(matches!(
        store.set_push_token(UserId(404), None).await,
        Err(DomainError::NotFound("user"))
    ));
});

store_test!(users_list_oldest_first_in_pages, |store| {
    let mut ids = vec![];
    for i in 0..7 {
        ids.push(staff(&store, &format!("user{i}"), "U").await.id);
    }
    let pages = every_page(3, |request| UserRepository::list(&store, request)).await;
    let seen: Vec<_> = pages
        .iter()
        .flat_map(|p| p.items.iter().map(|u| u.id))
        .collect();
    assert_eq!(seen, ids);
});
