-- Full-text search (docs/search.md): a tsvector column with a GIN index on tickets (generated
-- from the title and description) and on messages (its text and its files' names, kept by
-- triggers), so every write that changes indexed text updates the index in its own
-- transaction. The text search configuration `concierge_search` folds accents (unaccent, when
-- the extension can be installed), lower-cases and stems English words, and keeps stop words,
-- as SQLite's tokenizer does. ASCII punctuation is turned into spaces before parsing, so both
-- backends cut text into the same runs of letters and digits (no e-mail, URL or file tokens).
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS unaccent;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'unaccent is not available: search does not fold accents on this database';
END
$$;

CREATE TEXT SEARCH DICTIONARY concierge_english_stem (TEMPLATE = snowball, Language = english);
CREATE TEXT SEARCH CONFIGURATION concierge_search (COPY = english);
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_ts_dict WHERE dictname = 'unaccent') THEN
        ALTER TEXT SEARCH CONFIGURATION concierge_search
            ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part
            WITH unaccent, concierge_english_stem;
        ALTER TEXT SEARCH CONFIGURATION concierge_search
            ALTER MAPPING FOR numword, numhword, hword_numpart WITH unaccent, simple;
    ELSE
        ALTER TEXT SEARCH CONFIGURATION concierge_search
            ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part
            WITH concierge_english_stem;
    END IF;
END
$$;

-- The text as the index sees it: ASCII punctuation becomes spaces.
CREATE FUNCTION concierge_search_text(value TEXT) RETURNS TEXT
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT translate(coalesce(value, ''), '!"#$%&''()*+,-./:;<=>?@[\]^_`{|}~', repeat(' ', 32)) $$;

ALTER TABLE tickets ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('concierge_search', concierge_search_text(title)), 'A')
    || setweight(to_tsvector('concierge_search', concierge_search_text(description)), 'B')
) STORED;
CREATE INDEX tickets_search_idx ON tickets USING GIN (search);

-- A message's document: its text (weight A) and its files' names (B).
CREATE FUNCTION concierge_message_search(message_id BIGINT, content TEXT) RETURNS tsvector
    LANGUAGE sql STABLE
    AS $$
    SELECT setweight(to_tsvector('concierge_search', concierge_search_text(content)), 'A')
        || setweight(to_tsvector('concierge_search', concierge_search_text(
            (SELECT string_agg(file_name, ' ') FROM attachments a WHERE a.message_id = $1))), 'B')
    $$;

ALTER TABLE messages ADD COLUMN search tsvector;
CREATE FUNCTION messages_search_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search := concierge_message_search(NEW.id, NEW.content);
    RETURN NEW;
END
$$;
CREATE TRIGGER messages_search BEFORE INSERT OR UPDATE OF content ON messages
    FOR EACH ROW EXECUTE FUNCTION messages_search_trigger();

CREATE FUNCTION attachments_search_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    target BIGINT := CASE WHEN TG_OP = 'DELETE' THEN OLD.message_id ELSE NEW.message_id END;
BEGIN
    UPDATE messages SET search = concierge_message_search(id, content) WHERE id = target;
    RETURN NULL;
END
$$;
CREATE TRIGGER attachments_search AFTER INSERT OR DELETE ON attachments
    FOR EACH ROW EXECUTE FUNCTION attachments_search_trigger();

-- What existed before this migration.
UPDATE messages SET search = concierge_message_search(id, content);
CREATE INDEX messages_search_idx ON messages USING GIN (search);
