-- Search indexing moves out of the write path. Analysing an article's text for full-text search costs about
-- ten times what storing it does (about 1.5 ms of PostgreSQL's CPU for a 12 KB article, against 0.15 ms for
-- the row), so as a generated column it capped what one store could write. Now the store writes the row
-- with `search` NULL and its indexer fills it in batches right after (`newspipe status` shows how many wait);
-- `newspipe search` also finds articles not indexed yet, by analysing them on the fly.

-- The vector of one article: title (weight A), description (B) and text (C), each analysed in the article's
-- language. Each is capped (title 2,000 characters, description 20,000, text 500,000): a tsvector holds at
-- most 1 MB, and a page with a huge title must not be one that can never be indexed.
CREATE FUNCTION newspipe_search_vector(language text, title text, description text, body text)
    RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN setweight(to_tsvector(newspipe_regconfig(language), left(coalesce(title, ''), 2000)), 'A')
        || setweight(to_tsvector(newspipe_regconfig(language), left(coalesce(description, ''), 20000)), 'B')
        || setweight(to_tsvector(newspipe_regconfig(language), left(body, 500000)), 'C');

-- Dropping the generated column drops its index too; the existing articles are indexed again by the
-- indexer, from the partial index of those waiting.
ALTER TABLE articles DROP COLUMN search;
ALTER TABLE articles ADD COLUMN search tsvector;
CREATE INDEX articles_search ON articles USING gin (search);
CREATE INDEX articles_unindexed ON articles (id) WHERE search IS NULL;
