-- Full-text search (docs/search.md). Two contentless FTS5 tables keyed by the rowid of what they
-- index (a ticket's id, a message's id), kept by triggers, so every write that changes indexed
-- text updates the index in its own transaction. The tokenizer folds case and accents and stems
-- English words (porter). The text itself is read from the tickets and messages tables.
CREATE VIRTUAL TABLE tickets_fts USING fts5(
    title, description,
    content = '', contentless_delete = 1,
    tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE VIRTUAL TABLE messages_fts USING fts5(
    content, file_names,
    content = '', contentless_delete = 1,
    tokenize = 'porter unicode61 remove_diacritics 2'
);

CREATE TRIGGER tickets_fts_insert AFTER INSERT ON tickets BEGIN
    INSERT INTO tickets_fts (rowid, title, description)
        VALUES (new.id, new.title, coalesce(new.description, ''));
END;
CREATE TRIGGER tickets_fts_update AFTER UPDATE OF title, description ON tickets
    WHEN old.title IS NOT new.title OR old.description IS NOT new.description BEGIN
    DELETE FROM tickets_fts WHERE rowid = old.id;
    INSERT INTO tickets_fts (rowid, title, description)
        VALUES (new.id, new.title, coalesce(new.description, ''));
END;
CREATE TRIGGER tickets_fts_delete AFTER DELETE ON tickets BEGIN
    DELETE FROM tickets_fts WHERE rowid = old.id;
END;

-- A message's document: its text, and its files' names (refreshed when files come and go).
CREATE VIEW messages_search_docs AS
    SELECT m.id AS id, m.content AS content, coalesce(
        (SELECT group_concat(a.file_name, ' ') FROM attachments a WHERE a.message_id = m.id), '')
        AS file_names
    FROM messages m;

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, content, file_names) VALUES (new.id, new.content, '');
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages
    WHEN old.content IS NOT new.content BEGIN
    DELETE FROM messages_fts WHERE rowid = old.id;
    INSERT INTO messages_fts (rowid, content, file_names)
        SELECT id, content, file_names FROM messages_search_docs WHERE id = new.id;
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    DELETE FROM messages_fts WHERE rowid = old.id;
END;
CREATE TRIGGER attachments_fts_insert AFTER INSERT ON attachments BEGIN
    DELETE FROM messages_fts WHERE rowid = new.message_id;
    INSERT INTO messages_fts (rowid, content, file_names)
        SELECT id, content, file_names FROM messages_search_docs WHERE id = new.message_id;
END;
CREATE TRIGGER attachments_fts_delete AFTER DELETE ON attachments BEGIN
    DELETE FROM messages_fts WHERE rowid = old.message_id;
    INSERT INTO messages_fts (rowid, content, file_names)
        SELECT id, content, file_names FROM messages_search_docs WHERE id = old.message_id;
END;

-- What existed before this migration.
INSERT INTO tickets_fts (rowid, title, description)
    SELECT id, title, coalesce(description, '') FROM tickets;
INSERT INTO messages_fts (rowid, content, file_names)
    SELECT id, content, file_names FROM messages_search_docs;
