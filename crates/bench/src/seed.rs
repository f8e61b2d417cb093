//! Bulk data for the search scenario, written straight into the server's tables (the API would
//! take hours for a million messages): English-like text drawn from a fixed vocabulary by a
//! seeded RNG, so every run seeds the same rows. The rows go in through `INSERT` (SQLite) and
//! `COPY` (PostgreSQL, `psql`), so the search triggers the migrations
//! installed index them as they index what the server writes.

use anyhow::{bail, Context, Result};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// Function words first, then the desk's words, roughly most frequent first: word `r` is drawn
/// with weight 1/(r+1) (Zipf), as words are in real text.
pub const VOCABULARY: &[&str] = &[
    "the",
    "i",
    "to",
    "and",
    "my",
    "a",
    "is",
    "it",
    "for",
    "of",
    "you",
    "in",
    "on",
    "was",
    "this",
    "that",
    "have",
    "with",
    "but",
    "not",
    "me",
    "can",
    "please",
    "be",
    "we",
    "your",
    "at",
    "do",
    "are",
    "so",
    "from",
    "thank",
    "thanks",
    "hi",
    "hello",
    "there",
    "just",
    "still",
    "would",
    "could",
    "when",
    "what",
    "if",
    "no",
    "yes",
    "they",
    "an",
    "get",
    "got",
    "again",
    "now",
    "as",
    "will",
    "did",
    "been",
    "has",
    "had",
    "any",
    "all",
    "up",
    "out",
    "one",
    "about",
    "how",
    "know",
    "need",
    "help",
    "donation",
    "receipt",
    "payment",
    "card",
    "refund",
    "account",
    "email",
    "monthly",
    "amount",
    "charity",
    "charged",
    "twice",
    "wrong",
    "address",
    "tax",
    "gift",
    "bank",
    "transfer",
    "cancel",
    "update",
    "change",
    "form",
    "website",
    "app",
    "login",
    "password",
    "reset",
    "confirmation",
    "number",
    "date",
    "name",
    "month",
    "year",
    "last",
    "first",
    "week",
    "today",
    "yesterday",
    "received",
    "sent",
    "send",
    "check",
    "see",
    "want",
    "like",
    "make",
    "problem",
    "issue",
    "error",
    "page",
    "link",
    "click",
    "button",
    "phone",
    "call",
    "message",
    "reply",
    "answer",
    "question",
    "team",
    "support",
    "someone",
    "time",
    "day",
    "days",
    "money",
    "pounds",
    "dollars",
    "euros",
    "direct",
    "debit",
    "standing",
    "order",
    "subscription",
    "campaign",
    "appeal",
    "event",
    "ticket",
    "sponsor",
    "sponsorship",
    "child",
    "school",
    "water",
    "project",
    "fund",
    "raise",
    "fundraising",
    "volunteer",
    "letter",
    "post",
    "statement",
    "declaration",
    "aid",
    "claim",
    "eligible",
    "taxpayer",
    "records",
    "details",
    "information",
    "personal",
    "data",
    "privacy",
    "unsubscribe",
    "newsletter",
    "mailing",
    "list",
    "stop",
    "contact",
    "preferences",
    "expired",
    "declined",
    "failed",
    "pending",
    "processed",
    "complete",
    "duplicate",
    "missing",
    "late",
    "delayed",
    "shipping",
    "pack",
    "tshirt",
    "wristband",
    "shop",
    "voucher",
    "code",
    "discount",
    "invoice",
    "company",
    "employer",
    "matching",
    "payroll",
    "giving",
    "legacy",
    "memory",
    "tribute",
    "birthday",
    "wedding",
    "celebration",
    "online",
    "paypal",
    "visa",
    "mastercard",
    "amex",
    "cheque",
    "cash",
    "postal",
    "overseas",
    "currency",
    "exchange",
    "fee",
    "fees",
    "percentage",
    "annual",
    "report",
    "impact",
    "beneficiary",
    "village",
    "hospital",
    "clinic",
    "vaccine",
    "food",
    "shelter",
    "emergency",
    "flood",
    "earthquake",
    "relief",
    "winter",
    "summer",
    "spring",
    "autumn",
    "holiday",
    "christmas",
    "easter",
    "marathon",
    "cycle",
    "walk",
    "swim",
    "challenge",
    "sponsored",
    "target",
    "total",
    "balance",
    "history",
    "download",
    "pdf",
    "attachment",
    "screenshot",
    "photo",
    "browser",
    "chrome",
    "safari",
    "firefox",
    "android",
    "iphone",
    "version",
    "crash",
    "slow",
    "loading",
    "blank",
    "screen",
    "timeout",
    "verification",
    "security",
    "fraud",
    "suspicious",
    "unauthorised",
    "dispute",
    "chargeback",
    "complaint",
    "manager",
    "supervisor",
    "urgent",
    "asap",
    "frustrated",
    "disappointed",
    "happy",
    "grateful",
    "wonderful",
    "great",
    "awful",
    "terrible",
    "confusing",
    "unclear",
    "easy",
    "difficult",
    "quick",
    "quickly",
    "reference",
    "postcode",
    "street",
    "town",
    "city",
    "county",
    "country",
    "spelling",
    "surname",
    "title",
    "mrs",
    "mr",
    "dr",
    "husband",
    "wife",
    "mother",
    "father",
    "son",
    "daughter",
    "family",
    "friend",
    "colleague",
    "passed",
    "away",
    "deceased",
    "estate",
    "solicitor",
    "executor",
    "probate",
    "bequest",
    "pledge",
    "promise",
    "commitment",
    "increase",
    "decrease",
    "reduce",
    "pause",
    "resume",
    "restart",
    "switch",
    "move",
    "moved",
    "new",
    "old",
    "previous",
    "current",
    "correct",
    "incorrect",
    "mistake",
    "typo",
    "fix",
    "fixed",
    "resolved",
    "closed",
    "open",
    "waiting",
    "weeks",
    "months",
    "ago",
    "since",
    "already",
    "never",
    "always",
    "often",
    "sometimes",
    "three",
    "times",
    "every",
];

/// Filler between words now and then, so snippets look like sentences.
const PUNCTUATION: &[&str] = &[". ", ", ", "? ", "! "];

/// SplitMix64: small, fast, and the same sequence for the same seed on every machine.
pub struct Rng(u64);

impl Rng {
    /// A generator started from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0; 0 for 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }
}

/// Draws words with Zipf weights over [`VOCABULARY`].
pub struct Words {
    /// Cumulative weights, scaled to u64.
    cumulative: Vec<u64>,
}

impl Default for Words {
    fn default() -> Self {
        let weights: Vec<f64> = (0..VOCABULARY.len())
            .map(|r| 1.0 / (r as f64 + 1.0))
            .collect();
        let total: f64 = weights.iter().sum();
        let mut acc = 0.0;
        let cumulative = weights
            .iter()
            .map(|w| {
                acc += w / total;
                (acc * u64::MAX as f64) as u64
            })
            .collect();
        Self { cumulative }
    }
}

impl Words {
    /// One word.
    pub fn word(&self, rng: &mut Rng) -> &'static str {
        let x = rng.next_u64();
        let i = self.cumulative.partition_point(|&c| c < x);
        VOCABULARY
            .get(i.min(VOCABULARY.len() - 1))
            .copied()
            .unwrap_or("the")
    }

    /// A text of `min..=max` words, with a punctuation mark every few words.
    pub fn text(&self, rng: &mut Rng, min: u64, max: u64) -> String {
        let n = min + rng.below(max - min + 1);
        let mut out = String::with_capacity(n as usize * 8);
        for i in 0..n {
            if i > 0 {
                if rng.below(7) == 0 {
                    let p = PUNCTUATION
                        .get(rng.below(PUNCTUATION.len() as u64) as usize)
                        .copied()
                        .unwrap_or(". ");
                    out.push_str(p);
                } else {
                    out.push(' ');
                }
            }
            out.push_str(self.word(rng));
        }
        out
    }
}

/// Statuses by share: most old tickets are done.
const STATUSES: &[(&str, u64)] = &[
    ("OPEN", 15),
    ("IN_PROGRESS", 10),
    ("PENDING_REPLY", 10),
    ("TRANSFERRED", 5),
    ("RESOLVED", 30),
    ("CLOSED", 30),
];
const PRIORITIES: &[&str] = &["LOW", "MEDIUM", "MEDIUM", "HIGH", "URGENT"];
const NAMES: &[&str] = &[
    "Dana", "Alex", "Sam", "Priya", "Jonas", "Mei", "Olu", "Grace", "Tom", "Ines", "Yusuf",
    "Hanna", "Luca", "Aisha", "Pedro", "Nora",
];

/// The seeded period: 2026-01-01 for 330 days.
const START: i64 = 1_767_225_600;
const SPAN_SECS: i64 = 330 * 86_400;

/// `YYYY-MM-DD HH:MM:SS` (UTC) of a Unix time.
pub fn timestamp(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Civil from days (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// One ticket row.
pub struct TicketRow {
    pub title: String,
    pub description: String,
    pub status: &'static str,
    pub priority: &'static str,
    pub donor_name: String,
    pub donor_id: String,
    pub created_at: String,
}

/// One message row; `ticket` counts from 0 among the seeded tickets.
pub struct MessageRow {
    pub ticket: u64,
    pub content: String,
    pub created_at: String,
}

/// The seeded data, produced in order from one seed.
pub struct Generator {
    rng: Rng,
    words: Words,
    tickets: u64,
    messages: u64,
}

impl Generator {
    /// `tickets` tickets and `messages` messages from `seed`.
    pub fn new(seed: u64, tickets: u64, messages: u64) -> Self {
        Self {
            rng: Rng::new(seed),
            words: Words::default(),
            tickets: tickets.max(1),
            messages,
        }
    }

    /// Ticket `i` (created in order over the period).
    pub fn ticket(&mut self, i: u64) -> TicketRow {
        let name = NAMES
            .get(self.rng.below(NAMES.len() as u64) as usize)
            .copied()
            .unwrap_or("Dana");
        let roll = self.rng.below(100);
        let mut acc = 0;
        let status = STATUSES
            .iter()
            .find(|(_, share)| {
                acc += share;
                roll < acc
            })
            .map(|(s, _)| *s)
            .unwrap_or("OPEN");
        let priority = PRIORITIES
            .get(self.rng.below(PRIORITIES.len() as u64) as usize)
            .copied()
            .unwrap_or("LOW");
        let at = START + (i as i64) * SPAN_SECS / (self.tickets as i64);
        TicketRow {
            title: format!("Query from {name}"),
            description: self.words.text(&mut self.rng, 8, 30),
            status,
            priority,
            donor_name: name.to_string(),
            donor_id: format!("search-donor-{}", i % 5_000),
            created_at: timestamp(at),
        }
    }

    /// Message `j`: in a ticket created before it, 4 to 40 words.
    pub fn message(&mut self, j: u64) -> MessageRow {
        let at = START + (j as i64) * SPAN_SECS / (self.messages.max(1) as i64);
        // Tickets opened by then; a message goes to one of the most recent 2,000 of them.
        let opened = ((j + 1) * self.tickets)
            .div_ceil(self.messages.max(1))
            .max(1);
        let window = opened.min(2_000);
        let ticket = opened - 1 - self.rng.below(window);
        MessageRow {
            ticket,
            content: self.words.text(&mut self.rng, 4, 40),
            created_at: timestamp(at.max(START)),
        }
    }
}

/// The seeded tables and columns, in the order of [`Generator::ticket_fields`] and
/// [`Generator::message_fields`].
const TICKETS: &str = "tickets (channel, title, description, status, priority, donor_name, \
     donor_id, query_mode, donor_session, created_at, updated_at)";
const MESSAGES: &str =
    "messages (ticket_id, sender_type, message_type, content, created_at, updated_at)";

impl Generator {
    /// Ticket `i`'s values for [`TICKETS`].
    fn ticket_fields(&mut self, i: u64) -> Vec<String> {
        let t = self.ticket(i);
        vec![
            "DONOR".into(),
            t.title,
            t.description,
            t.status.into(),
            t.priority.into(),
            t.donor_name,
            t.donor_id,
            "TEXT".into(),
            format!("search-session-{i}"),
            t.created_at.clone(),
            t.created_at,
        ]
    }

    /// Message `j`'s values for [`MESSAGES`], its ticket counted after ticket id `first`.
    fn message_fields(&mut self, j: u64, first: u64) -> Vec<String> {
        let m = self.message(j);
        vec![
            (first + 1 + m.ticket).to_string(),
            "DONOR".into(),
            "CHAT".into(),
            m.content,
            m.created_at.clone(),
            m.created_at,
        ]
    }
}

/// Escapes a value for PostgreSQL's COPY text format.
fn copy_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('\t', "\\t")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
}

/// Quotes an SQL string literal.
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Runs `program args` with `input` streamed to its stdin in chunks from `chunks`.
async fn pipe<F>(program: &str, args: &[&str], mut chunks: F) -> Result<String>
where
    F: FnMut() -> Option<String>,
{
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("running {program}"))?;
    let mut stdin = child.stdin.take().context("no stdin")?;
    while let Some(chunk) = chunks() {
        stdin.write_all(chunk.as_bytes()).await?;
    }
    stdin.shutdown().await?;
    drop(stdin);
    let out = child.wait_with_output().await?;
    if !out.status.success() {
        bail!("{program}: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Rows written per chunk handed to the client.
const CHUNK: u64 = 5_000;

/// `COPY into FROM STDIN` on `url`: rows `0..total`, each the line `row(i)`.
async fn copy(url: &str, into: &str, total: u64, mut row: impl FnMut(u64) -> String) -> Result<()> {
    let sql = format!("COPY {into} FROM STDIN");
    let args = ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", &sql];
    let mut next = 0;
    pipe("psql", &args, || {
        let end = (next + CHUNK).min(total);
        let text: String = (next..end).map(&mut row).collect();
        next = end;
        (!text.is_empty()).then_some(text)
    })
    .await
    .with_context(|| format!("copying into {into}"))
    .map(|_| ())
}

/// Seeds a migrated PostgreSQL database. The messages' GIN index is dropped for the load and
/// built again after it with the migration's own statement (as the migration builds it over
/// existing rows); the trigger computes every row's `search` during the `COPY`.
pub async fn postgres(url: &str, tickets: u64, messages: u64) -> Result<Duration> {
    let t0 = std::time::Instant::now();
    crate::pg::psql(url, "DROP INDEX messages_search_idx").await?;
    let first = first_id(crate::pg::psql(url, "SELECT coalesce(max(id), 0) FROM tickets").await?)?;
    let mut g = Generator::new(16, tickets, messages);
    let line = |fields: Vec<String>| {
        let escaped: Vec<String> = fields.iter().map(|f| copy_escape(f)).collect();
        format!("{}\n", escaped.join("\t"))
    };
    copy(url, TICKETS, tickets, |i| line(g.ticket_fields(i))).await?;
    copy(url, MESSAGES, messages, |j| {
        line(g.message_fields(j, first))
    })
    .await?;
    let out = tokio::process::Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url])
        .args([
            "-c",
            "SET maintenance_work_mem = '256MB'",
            "-c",
            "CREATE INDEX messages_search_idx ON messages USING GIN (search)",
            "-c",
            "VACUUM ANALYZE tickets",
            "-c",
            "VACUUM ANALYZE messages",
        ])
        .kill_on_drop(true)
        .output()
        .await?;
    if !out.status.success() {
        bail!("indexing: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(t0.elapsed())
}

/// Seeds a migrated SQLite database in one transaction, through the SQLite the server is built
/// with (the system's `sqlite3` shell may be too old for the index's FTS5 options).
pub async fn sqlite(path: &str, tickets: u64, messages: u64) -> Result<Duration> {
    let path = path.to_string();
    tokio::task::spawn_blocking(move || sqlite_blocking(&path, tickets, messages)).await?
}

fn sqlite_blocking(path: &str, tickets: u64, messages: u64) -> Result<Duration> {
    use diesel::connection::SimpleConnection;
    let t0 = std::time::Instant::now();
    let mut conn = sqlite_connect(path)?;
    let first = u64::try_from(max_id(&mut conn, "tickets")?).unwrap_or(0);
    let mut g = Generator::new(16, tickets, messages);
    conn.batch_execute("PRAGMA cache_size = -262144; BEGIN")?;
    let tuple = |fields: Vec<String>| {
        let quoted: Vec<String> = fields.iter().map(|f| lit(f)).collect();
        format!("({})", quoted.join(", "))
    };
    insert(&mut conn, TICKETS, tickets, |i| tuple(g.ticket_fields(i)))?;
    insert(&mut conn, MESSAGES, messages, |j| {
        tuple(g.message_fields(j, first))
    })?;
    conn.batch_execute("COMMIT; ANALYZE")?;
    Ok(t0.elapsed())
}

/// `INSERT INTO into VALUES` rows `0..total`, each `row(i)`, a chunk per statement.
fn insert(
    conn: &mut diesel::SqliteConnection,
    into: &str,
    total: u64,
    mut row: impl FnMut(u64) -> String,
) -> Result<()> {
    use diesel::connection::SimpleConnection;
    for start in (0..total).step_by(CHUNK as usize) {
        let values: Vec<String> = (start..(start + CHUNK).min(total)).map(&mut row).collect();
        conn.batch_execute(&format!(
            "INSERT INTO {into} VALUES\n{}",
            values.join(",\n")
        ))?;
    }
    Ok(())
}

fn first_id(out: String) -> Result<u64> {
    out.trim()
        .parse()
        .with_context(|| format!("reading the highest ticket id from {out:?}"))
}

fn sqlite_connect(path: &str) -> Result<diesel::SqliteConnection> {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    let mut conn =
        diesel::SqliteConnection::establish(path).with_context(|| format!("opening {path}"))?;
    conn.batch_execute("PRAGMA busy_timeout = 30000")?;
    Ok(conn)
}

#[derive(diesel::QueryableByName)]
struct MaxId {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
}

fn max_id(conn: &mut diesel::SqliteConnection, table: &str) -> Result<i64> {
    use diesel::RunQueryDsl;
    let row: MaxId = diesel::sql_query(format!("SELECT coalesce(max(id), 0) AS id FROM {table}"))
        .get_result(conn)?;
    Ok(row.id)
}

/// The highest id in `table` of the SQLite database at `path`.
pub async fn sqlite_max_id(path: &str, table: &'static str) -> Result<i64> {
    let path = path.to_string();
    tokio::task::spawn_blocking(move || max_id(&mut sqlite_connect(&path)?, table)).await?
}

/// Runs SQL statements on the SQLite database at `path`.
pub async fn sqlite_exec(path: &str, sql: &str) -> Result<()> {
    use diesel::connection::SimpleConnection;
    let (path, sql) = (path.to_string(), sql.to_string());
    tokio::task::spawn_blocking(move || {
        sqlite_connect(&path)?.batch_execute(&sql)?;
        anyhow::Ok(())
    })
    .await?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_rows() {
        let mut a = Generator::new(1, 100, 1_000);
        let mut b = Generator::new(1, 100, 1_000);
        for j in 0..50 {
            assert_eq!(a.message(j).content, b.message(j).content);
        }
        let mut c = Generator::new(2, 100, 1_000);
        assert_ne!(a.message(50).content, c.message(50).content);
    }

    #[test]
    fn messages_go_to_tickets_opened_before_them() {
        let mut g = Generator::new(3, 100, 1_000);
        for j in 0..1_000 {
            let m = g.message(j);
            assert!(m.ticket < 100);
            assert!(m.ticket <= j / 10, "message {j} in ticket {}", m.ticket);
        }
    }

    #[test]
    fn the_vocabulary_has_no_repeats() {
        let mut seen = std::collections::HashSet::new();
        assert!(VOCABULARY.iter().all(|w| seen.insert(*w)));
    }

    #[test]
    fn frequent_words_come_first() {
        let words = Words::default();
        let mut rng = Rng::new(9);
        let mut the = 0;
        let mut refund = 0;
        for _ in 0..100_000 {
            match words.word(&mut rng) {
                "the" => the += 1,
                "refund" => refund += 1,
                _ => {}
            }
        }
        assert!(
            the > 10 * refund && refund > 0,
            "the {the}, refund {refund}"
        );
    }

    #[test]
    fn formats_utc_timestamps() {
        assert_eq!(timestamp(START), "2026-01-01 00:00:00");
        assert_eq!(
            timestamp(START + 59 * 86_400 + 3_723),
            "2026-03-01 01:02:03"
        );
    }
}
