-- A copy of each user's document with the values of attributes that compare without regard to
-- case (caseExact false) lower-cased, so that filters on attributes without their own column
-- fold case the same way on both engines (and beyond ASCII). Rows written before this migration
-- are filled in at start-up by the gateway itself, which knows the schemas.
ALTER TABLE users ADD COLUMN doc_folded TEXT;
