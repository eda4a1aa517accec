-- Search vectors are made by newspipe (crate newspipe-search) and written with each article, no longer
-- analysed by PostgreSQL afterwards: `to_tsvector` cost PostgreSQL about as much CPU per 12 KB article as
-- extracting the page, almost all of it in its parser (docs/decisions/0009-search-vectors-made-by-newspipe.md).
-- A search's query is analysed by newspipe the same way, so vectors PostgreSQL made before no longer match
-- it: they are cleared here, and the stores' indexers make them again (`newspipe status` shows how many
-- wait; `newspipe search` finds those meanwhile by analysing them on the fly, as before).
UPDATE articles SET search = NULL WHERE search IS NOT NULL;

-- A vector is about the size of the text; lz4 compresses it several times faster than pglz (as the text's).
DO $$
BEGIN
    ALTER TABLE articles ALTER COLUMN search SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'this PostgreSQL has no lz4: search vectors stay compressed with pglz';
END
$$;
