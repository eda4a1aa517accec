-- The search index holds only articles that have a search vector. An article is written with `search` NULL
-- and its indexer fills it right after; a GIN index keeps a placeholder entry for a NULL, so every write
-- added one to it (and the indexer's update another, the real one). Every search is `search @@ query`,
-- which is never true of a NULL, so PostgreSQL uses this partial index for it as it did the whole one.
DROP INDEX articles_search;
CREATE INDEX articles_search ON articles USING gin (search) WHERE search IS NOT NULL;
