-- +goose Up
-- The notices a user sealed lately, counted before each new one: the
-- per-user bound on sealing notices (agreements.IssueNotice).
CREATE INDEX documents_notice_issuer_idx ON documents (created_by, created_at) WHERE kind = 'notice';

-- +goose Down
DROP INDEX documents_notice_issuer_idx;
