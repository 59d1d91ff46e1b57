-- +goose Up
-- Documents of a case: drafts waiting for signatures, then sealed PDFs.
CREATE TABLE documents (
    id           bigserial PRIMARY KEY,
    case_id      bigint NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    kind         text NOT NULL CHECK (kind IN ('notice', 'agreement', 'receipt')),
    status       text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'sealed', 'void')),
    verify_code  text NOT NULL UNIQUE,
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    pdf          bytea,
    sha256       bytea UNIQUE,
    issued_at    timestamptz,
    ledger_entry bigint,
    CHECK ((status = 'sealed') = (pdf IS NOT NULL AND sha256 IS NOT NULL AND issued_at IS NOT NULL))
);
CREATE INDEX documents_case_idx ON documents (case_id, id);

-- Handwritten signatures captured for a draft.
CREATE TABLE signatures (
    document_id bigint NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    role        text NOT NULL CHECK (role IN ('applicant', 'agent')),
    signer      text NOT NULL,
    image_png   bytea NOT NULL,
    signed_at   timestamptz NOT NULL,
    PRIMARY KEY (document_id, role)
);

-- One-time links through which the applicant signs on the counter tablet.
-- Only the token's hash is kept.
CREATE TABLE sign_links (
    token_hash  bytea PRIMARY KEY,
    document_id bigint NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    failures    integer NOT NULL DEFAULT 0,
    voided_at   timestamptz
);
CREATE INDEX sign_links_document_idx ON sign_links (document_id);

-- +goose Down
DROP TABLE sign_links, signatures, documents;
