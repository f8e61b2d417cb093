//! A donor query from first message to close, through the domain's services alone: no
//! database, no HTTP. Storage is the in-memory `MemoryStore` (feature `memory`), password
//! hashing a `mockall` mock (feature `mock`), time a `ManualClock`.
//!
//! ```text
//! cargo run -p concierge-domain --example ticket_lifecycle --features memory,mock
//! ```

use chrono::{Duration, TimeZone, Utc};
use concierge_domain::memory::{ManualClock, MemoryStore};
use concierge_domain::message::{MessageFilter, PostMessage, Posted};
use concierge_domain::page::PageRequest;
use concierge_domain::ports::MockPasswordHasher;
use concierge_domain::services::{NewAccount, Services};
use concierge_domain::ticket::{DonorQueryInput, TicketStatus};
use concierge_domain::user::Role;
use concierge_domain::{Actor, DomainError, TicketId};
use std::error::Error;
use std::sync::Arc;

/// A "hasher" that stores passwords as they are: fine for an example, never for a server.
fn plain_hasher() -> MockPasswordHasher {
    let mut hasher = MockPasswordHasher::new();
    hasher
        .expect_hash()
        .returning(|password| Ok(format!("plain:{password}")));
    hasher
        .expect_verify()
        .returning(|password, hash| Ok(hash == format!("plain:{password}")));
    hasher.expect_verify_absent().returning(|_| Ok(()));
    hasher
}

fn post(ticket_id: TicketId, content: &str, key: &str) -> PostMessage {
    PostMessage {
        ticket_id,
        content: content.to_string(),
        reply_to_id: None,
        client_message_id: Some(key.to_string()),
    }
}

fn step(what: &str, status: TicketStatus) {
    println!("{what:<48} -> {status}");
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let store = Arc::new(MemoryStore::new());
    let start = Utc
        .with_ymd_and_hms(2026, 1, 5, 9, 0, 0)
        .single()
        .ok_or("not a valid time")?;
    let clock = Arc::new(ManualClock::new(start));
    // The memory store keeps no calls, summaries or push state: those services stay off.
    let services = Services::new(store.ports(Arc::new(plain_hasher()), clock.clone()));
    let minute = || clock.advance(Duration::minutes(1));

    // The operator creates two admins (donor queries are managed by admins); they log in.
    for (username, name) in [("amira", "Amira Haddad"), ("basil", "Basil Okafor")] {
        let account = NewAccount {
            username: username.into(),
            email: None,
            name: name.into(),
            password: "correct horse battery".into(),
            role: Role::Admin,
        };
        services.accounts.create(&Actor::System, account).await?;
    }
    let staff = |user: concierge_domain::user::User| Actor::Staff {
        user_id: user.id,
        role: user.role,
    };
    let amira = staff(
        services
            .accounts
            .login("amira", "correct horse battery")
            .await?,
    );
    let basil = staff(
        services
            .accounts
            .login("basil", "correct horse battery")
            .await?,
    );

    // A donor opens a query with its first message; the token it gets back is its actor.
    let (query, _) = services
        .tickets
        .open_donor_query(DonorQueryInput {
            donor: "Dana".into(),
            donor_id: "donor-42".into(),
            message: Some("My receipt for December shows the wrong amount.".into()),
            ..Default::default()
        })
        .await?;
    let id = query.id;
    step("donor opens a query", query.status());
    let donor = Actor::Donor {
        donor_id: "donor-42".into(),
        ticket_id: id,
        session: query
            .donor
            .as_ref()
            .and_then(|d| d.session.clone())
            .ok_or("a donor query has a session")?,
        identity_verified: false,
    };

    // Only an admin manages a donor query: the donor cannot resolve it.
    match services.tickets.resolve(&donor, id).await {
        Err(DomainError::Forbidden(why)) => println!("{:<48} -> refused: {why}", "donor resolves"),
        other => return Err(format!("expected a refusal, got {other:?}").into()),
    }

    minute();
    let t = services.tickets.accept(&amira, id).await?;
    step("amira accepts", t.status());

    minute();
    services
        .conversations
        .post(
            &amira,
            post(id, "Sorry about that! Which amount do you see?", "a-1"),
        )
        .await?;
    step(
        "amira replies",
        services.tickets.get(&amira, id).await?.status(),
    );

    minute();
    let reply = post(id, "It says 50 instead of 25.", "d-1");
    services.conversations.post(&donor, reply.clone()).await?;
    step(
        "donor answers",
        services.tickets.get(&donor, id).await?.status(),
    );

    // The donor's app sends the same message again (a lost acknowledgement): nothing new.
    let again = services.conversations.post(&donor, reply).await?;
    let repeated = matches!(again, Posted::Existing(_));
    println!(
        "{:<48} -> same message: {repeated}",
        "donor's app resends it"
    );

    minute();
    let basil_id = basil.staff()?.0;
    let t = services
        .tickets
        .transfer(&amira, id, basil_id, Some("Basil handles refunds"))
        .await?;
    step("amira transfers to basil", t.status());
    let t = services.tickets.accept(&basil, id).await?;
    step("basil accepts", t.status());

    minute();
    services
        .conversations
        .post(
            &basil,
            post(id, "Corrected: your new receipt says 25.", "b-1"),
        )
        .await?;
    let t = services.tickets.resolve(&basil, id).await?;
    step("basil fixes it and resolves", t.status());

    minute();
    let t = services.tickets.close(&donor, id).await?;
    step("donor closes it", t.status());

    // A closed ticket takes no more messages.
    match services
        .conversations
        .post(&donor, post(id, "One more thing...", "d-2"))
        .await
    {
        Err(DomainError::Transition(e)) => println!("{:<48} -> refused: {e}", "donor writes again"),
        other => return Err(format!("expected a refusal, got {other:?}").into()),
    }

    // What the donor sees of the conversation, and what the event log recorded.
    println!("\nconversation, as the donor sees it:");
    let filter = MessageFilter {
        ticket_id: Some(id),
        ..Default::default()
    };
    let page = services
        .conversations
        .list(&donor, filter, PageRequest::first(50))
        .await?;
    for m in &page.items {
        let at = m.created_at.format("%H:%M");
        let (from, kind) = (m.sender.kind().to_string(), m.message_type.to_string());
        println!("  {at} {from:<6} {kind:<6} {}", m.content);
    }
    println!("\nevents of the ticket:");
    for e in services.events.read_after(0, Some(id), 100).await? {
        println!("  #{:<2} {}", e.seq, e.kind);
    }
    Ok(())
}
