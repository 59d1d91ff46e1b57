-- +goose Up
-- Download links for the applicant's own copy of a signed document: the
-- done page on the counter tablet shows one as a QR code. Only the token's
-- hash is kept; a link lives one day and works max_uses times, and a use
-- is counted only when the sealed PDF is served.
CREATE TABLE copy_links (
    token_hash  bytea PRIMARY KEY,
    document_id bigint NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    uses        integer NOT NULL DEFAULT 0,
    max_uses    integer NOT NULL CHECK (max_uses > 0),
    CHECK (uses BETWEEN 0 AND max_uses)
);
CREATE INDEX copy_links_document_idx ON copy_links (document_id);
CREATE INDEX copy_links_expires_idx ON copy_links (expires_at);

-- +goose Down
DROP TABLE copy_links;
