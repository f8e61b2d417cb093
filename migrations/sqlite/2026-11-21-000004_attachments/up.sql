-- Files in messages: the bytes live in the blob store under `storage_key` (random, never the
-- client's file name); a row goes with its message (and so with its ticket).
CREATE TABLE attachments (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id    INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    file_name     TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size          INTEGER NOT NULL CHECK (size >= 0),
    sha256        TEXT NOT NULL,
    storage_key   TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    CONSTRAINT attachments_storage_key_key UNIQUE (storage_key)
);

CREATE INDEX attachments_message_id_idx ON attachments (message_id, id);

-- A staff user's avatar (one per user).
CREATE TABLE user_avatars (
    user_id       INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    content_type  TEXT NOT NULL,
    size          INTEGER NOT NULL CHECK (size >= 0),
    sha256        TEXT NOT NULL,
    storage_key   TEXT NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    CONSTRAINT user_avatars_storage_key_key UNIQUE (storage_key)
);
