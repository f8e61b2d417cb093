use super::*;
use crate::user::Role;
use chrono::TimeZone;

fn entry(n: i64) -> Entry {
    Entry {
        id: n,
        seq: None,
        at: Utc.with_ymd_and_hms(2026, 12, 3, 10, 0, 0).unwrap() + TimeDelta::microseconds(n),
        actor: AuditActor::of(&Actor::Staff {
            user_id: UserId(7),
            role: Role::Admin,
        }),
        action: "ticket.updated".into(),
        target: Target::of("ticket", n),
        ticket_id: Some(TicketId(n)),
        ip: Some("192.0.2.1".into()),
        request_id: Some(format!("req-{n}")),
        changes: Some(Changes::from([(
            "status".to_string(),
            [json!("OPEN"), json!("IN_PROGRESS")],
        )])),
        prev_hash: None,
        hash: None,
    }
}

fn chain(n: i64) -> Vec<Entry> {
    let mut prev = GENESIS.to_string();
    (1..=n)
        .map(|i| {
            let mut e = entry(i);
            e.chain(i, &prev);
            prev = e.hash.clone().unwrap();
            e
        })
        .collect()
}

fn verify(entries: &[Entry]) -> Verification {
    let mut v = Verifier::default();
    for e in entries {
        if !v.check(e) {
            break;
        }
    }
    v.finish()
}

#[test]
fn canonical_json_sorts_keys_at_every_level_and_has_no_whitespace() {
    let mut e = entry(1);
    e.changes = Some(Changes::from([
        (
            "z".to_string(),
            [
                json!({"b": 1, "a": [2, {"d": null, "c": "x"}]}),
                json!(null),
            ],
        ),
        ("a".to_string(), [json!(null), json!("é \"q\"")]),
    ]));
    e.chain(1, GENESIS);
    let text = e.canonical_json();
    assert_eq!(
        text,
        concat!(
            r#"{"action":"ticket.updated","actor":{"id":"7","kind":"STAFF","role":"ADMIN"},"#,
            r#""at":"2026-12-03T10:00:00.000001Z","changes":{"a":[null,"é \"q\""],"#,
            r#""z":[{"a":[2,{"c":"x","d":null}],"b":1},null]},"ip":"192.0.2.1","#,
            r#""prevHash":"0000000000000000000000000000000000000000000000000000000000000000","#,
            r#""requestId":"req-1","seq":1,"target":{"id":"1","kind":"ticket"},"ticketId":1}"#
        )
    );
    assert!(!text.contains("\"hash\""));
}

#[test]
fn the_hash_is_sha256_of_the_previous_hash_and_the_canonical_json() {
    let mut e = entry(1);
    e.chain(1, GENESIS);
    let expected = Sha256::digest(format!("{GENESIS}{}", e.canonical_json()).as_bytes());
    assert_eq!(e.hash.as_deref(), Some(hex(&expected).as_str()));
    assert_eq!(e.hash.as_ref().unwrap().len(), 64);
    // The same fields give the same hash; any field changes it.
    assert_eq!(e.compute_hash(), e.hash.clone().unwrap());
    let mut other = e.clone();
    other.ip = Some("192.0.2.2".into());
    assert_ne!(other.compute_hash(), e.hash.clone().unwrap());
}

#[test]
fn a_chain_as_written_verifies() {
    let v = verify(&chain(5));
    assert_eq!(
        v,
        Verification {
            ok: true,
            checked: 5,
            first_bad_seq: None,
            reason: None
        }
    );
    assert!(verify(&[]).ok);
}

#[test]
fn an_altered_entry_is_named() {
    let mut entries = chain(5);
    entries[2].action = "ticket.created".into();
    let v = verify(&entries);
    assert!(!v.ok);
    assert_eq!(v.first_bad_seq, Some(3));
    assert!(v.reason.unwrap().contains("altered"));
    // Rewriting its hash too moves the break to the next entry, which still names the change.
    entries[2].hash = Some(entries[2].compute_hash());
    assert_eq!(verify(&entries).first_bad_seq, Some(4));
}

#[test]
fn a_removed_entry_is_named() {
    let mut entries = chain(5);
    entries.remove(1);
    let v = verify(&entries);
    assert_eq!(v.first_bad_seq, Some(2));
    assert!(v.reason.unwrap().contains("missing"));
    // The first one too.
    let v = verify(&chain(3)[1..]);
    assert_eq!(v.first_bad_seq, Some(1));
}

#[test]
fn reordered_entries_are_named() {
    // Rows swapped whole: seq 3 holds what was seq 4 and the other way round.
    let mut entries = chain(5);
    entries.swap(2, 3);
    (entries[2].seq, entries[3].seq) = (Some(3), Some(4));
    let v = verify(&entries);
    assert_eq!(v.first_bad_seq, Some(3));
    assert!(v.reason.unwrap().contains("reordered"));
    // Only the numbers swapped: read in seq order, entry 3 comes first but it is the old 4.
    let mut entries = chain(5);
    entries[2].seq = Some(4);
    entries[3].seq = Some(3);
    entries.swap(2, 3);
    assert_eq!(verify(&entries).first_bad_seq, Some(3));
}

#[test]
fn ticket_changes_name_the_transition() {
    let now = Utc::now();
    let open = crate::services::tests::donor_ticket(1, "Ann", TicketStatus::Open);
    let mut accepted = open.clone();
    accepted.accept(UserId(3), now).unwrap();
    let r = Record::ticket_changed(&open, &accepted);
    assert_eq!(r.action, "ticket.accepted");
    let changes = r.changes.unwrap();
    assert_eq!(changes["status"], [json!("OPEN"), json!("IN_PROGRESS")]);
    assert_eq!(changes["assigneeId"], [json!(null), json!(3)]);
    let mut moved = accepted.clone();
    moved.transfer(UserId(4), None, now).unwrap();
    assert_eq!(
        Record::ticket_changed(&accepted, &moved).action,
        "ticket.transferred"
    );
    let mut resolved = accepted.clone();
    resolved.resolve(UserId(3), now).unwrap();
    assert_eq!(
        Record::ticket_changed(&accepted, &resolved).action,
        "ticket.resolved"
    );
    let mut closed = resolved.clone();
    closed.close(now).unwrap();
    assert_eq!(
        Record::ticket_changed(&resolved, &closed).action,
        "ticket.closed"
    );
    let mut edited = open.clone();
    edited.title = "other".into();
    let r = Record::ticket_changed(&open, &edited);
    assert_eq!(r.action, "ticket.updated");
    assert_eq!(r.changes.unwrap().len(), 1);
}

#[test]
fn a_failed_login_keeps_the_name_tried_only() {
    let r = Record::login_failed("alice");
    assert_eq!(r.action, "auth.login_failed");
    assert_eq!(r.changes.unwrap()["login"], [json!(null), json!("alice")]);
}
