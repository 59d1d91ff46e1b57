-- +goose Up
-- The signing link's token, sealed with the personal-data key, so that the
-- agent's page can show a live link again after a reload (the hash stays
-- the lookup key; the sealed token only comes back to the case's agents).
ALTER TABLE sign_links ADD COLUMN token_enc bytea;

-- +goose Down
ALTER TABLE sign_links DROP COLUMN token_enc;
