-- Full-text search over articles, language-aware where the language is known.

-- The text search configuration for a BCP 47 language tag ("en", "en-GB", "pt_BR", "DE"...): its primary
-- subtag mapped to one of PostgreSQL's built-in configurations, `simple` (no stemming, no stop words) for
-- anything else or no language. IMMUTABLE so a generated column and an index can use it; it depends only on
-- built-in configurations, which never change.
CREATE FUNCTION newspipe_language(tag text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN lower(split_part(replace(coalesce(tag, ''), '_', '-'), '-', 1));

CREATE FUNCTION newspipe_regconfig(tag text) RETURNS regconfig
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE newspipe_language(tag)
        WHEN 'ar' THEN 'arabic'::regconfig
        WHEN 'da' THEN 'danish'::regconfig
        WHEN 'de' THEN 'german'::regconfig
        WHEN 'el' THEN 'greek'::regconfig
        WHEN 'en' THEN 'english'::regconfig
        WHEN 'es' THEN 'spanish'::regconfig
        WHEN 'fi' THEN 'finnish'::regconfig
        WHEN 'fr' THEN 'french'::regconfig
        WHEN 'hu' THEN 'hungarian'::regconfig
        WHEN 'id' THEN 'indonesian'::regconfig
        WHEN 'ga' THEN 'irish'::regconfig
        WHEN 'it' THEN 'italian'::regconfig
        WHEN 'lt' THEN 'lithuanian'::regconfig
        WHEN 'ne' THEN 'nepali'::regconfig
        WHEN 'nl' THEN 'dutch'::regconfig
        WHEN 'sr' THEN 'serbian'::regconfig
        WHEN 'nb' THEN 'norwegian'::regconfig
        WHEN 'nn' THEN 'norwegian'::regconfig
        WHEN 'no' THEN 'norwegian'::regconfig
        WHEN 'pt' THEN 'portuguese'::regconfig
        WHEN 'ro' THEN 'romanian'::regconfig
        WHEN 'ru' THEN 'russian'::regconfig
        WHEN 'sv' THEN 'swedish'::regconfig
        WHEN 'ta' THEN 'tamil'::regconfig
        WHEN 'tr' THEN 'turkish'::regconfig
        ELSE 'simple'::regconfig
    END;

-- Title (weight A), description (B) and text (C), each analysed in the article's language. The text is
-- capped at 500,000 characters: a tsvector holds at most 1 MB.
ALTER TABLE articles ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector(newspipe_regconfig(language), coalesce(title, '')), 'A')
    || setweight(to_tsvector(newspipe_regconfig(language), coalesce(description, '')), 'B')
    || setweight(to_tsvector(newspipe_regconfig(language), left(text, 500000)), 'C')
) STORED;
CREATE INDEX articles_search ON articles USING gin (search);

-- A query for articles of any language: the query analysed with every configuration above, OR-ed, so an
-- English article matches its stemmed words and a German one its own. With a language, just that one.
CREATE FUNCTION newspipe_tsquery(query text, tag text) RETURNS tsquery
    LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    result tsquery;
    part tsquery;
    seen text[] := '{}';
    config regconfig;
BEGIN
    IF tag IS NOT NULL THEN
        RETURN websearch_to_tsquery(newspipe_regconfig(tag), query);
    END IF;
    FOREACH config IN ARRAY ARRAY['simple', 'arabic', 'danish', 'german', 'greek', 'english', 'spanish',
        'finnish', 'french', 'dutch', 'serbian', 'hungarian', 'indonesian', 'irish', 'italian', 'lithuanian', 'nepali', 'norwegian',
        'portuguese', 'romanian', 'russian', 'swedish', 'tamil', 'turkish']::regconfig[]
    LOOP
        part := websearch_to_tsquery(config, query);
        IF numnode(part) > 0 AND NOT part::text = ANY (seen) THEN
            seen := seen || part::text;
            result := CASE WHEN result IS NULL THEN part ELSE result || part END;
        END IF;
    END LOOP;
    RETURN coalesce(result, ''::tsquery);
END
$$;

-- Filters of search, export and retry.
CREATE INDEX articles_updated_at ON articles (updated_at);
CREATE INDEX outcomes_failed ON outcomes (recorded_at) WHERE outcome = 'failed';
