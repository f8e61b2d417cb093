//! [`UserRepository`]: staff accounts.

use crate::error::Error;
use crate::models::{to_db, NewUserRow, UserRow};
use crate::query::{first_row, page_of, paged};
use crate::schema::users;
use crate::Store;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use concierge_domain::audit::{AuditActor, Record};
use concierge_domain::page::{Page, PageRequest};
use concierge_domain::ports::UserRepository;
use concierge_domain::user::{NewUser, User, UserChanges};
use concierge_domain::{DomainError, Result, UserId};
use diesel::prelude::*;

/// The columns [`UserChanges`] may set; `None` leaves a column alone.
#[derive(AsChangeset)]
#[diesel(table_name = users)]
struct UserChangeset {
    name: Option<String>,
    email: Option<Option<String>>,
    role: Option<String>,
    is_active: Option<bool>,
    updated_at: chrono::NaiveDateTime,
}

fn load_user(conn: &mut crate::DbConnection, id: UserId) -> Result<Option<User>, Error> {
    let query = users::table.find(id.0).select(UserRow::as_select());
    first_row(conn, query, UserRow::into_user)
}

/// The user an `UPDATE ... RETURNING` wrote; `NotFound` when no row matched.
fn updated(row: Option<UserRow>) -> Result<User, Error> {
    row.map(UserRow::into_user)
        .transpose()?
        .ok_or(Error::Domain(DomainError::NotFound("user")))
}

#[async_trait]
impl UserRepository for Store {
    async fn create(&self, user: NewUser) -> Result<User> {
        let row = NewUserRow::from(user);
        let outbox = self.outbox();
        self.write(move |conn| {
            let user = diesel::insert_into(users::table)
                .values(&row)
                .returning(users::all_columns)
                .get_result::<UserRow>(conn)?
                .into_user()?;
            // Someone signing up is their own actor.
            let me = Some(AuditActor::user(&user));
            outbox.record_or(conn, Record::user_created(&user), me)?;
            Ok(user)
        })
        .await
    }

    async fn get(&self, id: UserId) -> Result<Option<User>> {
        self.run(move |conn| load_user(conn, id)).await
    }

    async fn find_for_login(&self, login: &str) -> Result<Option<(User, String)>> {
        let login = login.to_lowercase();
        self.run(move |conn| {
            let row: Option<UserRow> = users::table
                .filter(users::username.eq(&login).or(users::email.eq(&login)))
                .select(UserRow::as_select())
                // A username that equals another user's email: the username wins.
                .order(users::username.eq(&login).desc())
                .first(conn)
                .optional()?;
            row.map(|row| {
                let hash = row.password_hash.clone();
                row.into_user().map(|user| (user, hash))
            })
            .transpose()
        })
        .await
    }

    async fn password_hash(&self, id: UserId) -> Result<Option<String>> {
        self.run(move |conn| {
            Ok(users::table
                .find(id.0)
                .select(users::password_hash)
                .first(conn)
                .optional()?)
        })
        .await
    }

    async fn update(&self, id: UserId, changes: UserChanges, now: DateTime<Utc>) -> Result<User> {
        let changeset = UserChangeset {
            name: changes.name,
            email: changes.email,
            role: changes.role.map(|r| r.as_str().to_string()),
            is_active: changes.is_active,
            updated_at: to_db(now),
        };
        let outbox = self.outbox();
        self.write(move |conn| {
            let before = match outbox.auditing() {
                true => load_user(conn, id)?,
                false => None,
            };
            let row: Option<UserRow> = diesel::update(users::table.find(id.0))
                .set(&changeset)
                .returning(users::all_columns)
                .get_result(conn)
                .optional()?;
            let user = updated(row)?;
            if let Some(before) = before {
                outbox.record(conn, Record::user_updated(&before, &user))?;
            }
            Ok(user)
        })
        .await
    }

    async fn set_password(&self, id: UserId, hash: String, now: DateTime<Utc>) -> Result<User> {
        let outbox = self.outbox();
        self.write(move |conn| {
            let row: Option<UserRow> = diesel::update(users::table.find(id.0))
                .set((
                    users::password_hash.eq(&hash),
                    users::token_version.eq(users::token_version + 1),
                    users::updated_at.eq(to_db(now)),
                ))
                .returning(users::all_columns)
                .get_result(conn)
                .optional()?;
            let user = updated(row)?;
            outbox.record(conn, Record::password_changed(&user))?;
            Ok(user)
        })
        .await
    }

    async fn set_push_token(&self, id: UserId, token: Option<String>) -> Result<()> {
        self.write(move |conn| {
            let n = diesel::update(users::table.find(id.0))
                .set(users::fcm_token.eq(&token))
                .execute(conn)?;
            if n == 0 {
                return Err(DomainError::NotFound("user").into());
            }
            Ok(())
        })
        .await
    }

    async fn list(&self, page: PageRequest) -> Result<Page<User>> {
        self.run(move |conn| {
            let query = users::table.select(UserRow::as_select());
            let rows = paged!(query, users::id, oldest_first, page).load(conn)?;
            page_of(rows, &page, UserRow::into_user, |u| u.id.0)
        })
        .await
    }

    async fn count(&self) -> Result<i64> {
        self.run(|conn| Ok(users::table.count().get_result(conn)?))
            .await
    }
}
