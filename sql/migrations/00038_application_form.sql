-- +goose Up
-- 一表申请: the combined application form of a 一件事 case is a sealed
-- document like the others.
ALTER TABLE documents DROP CONSTRAINT documents_kind_check;
ALTER TABLE documents ADD CONSTRAINT documents_kind_check
    CHECK (kind IN ('notice', 'agreement', 'receipt', 'application'));

-- +goose Down
DELETE FROM documents WHERE kind = 'application';
ALTER TABLE documents DROP CONSTRAINT documents_kind_check;
ALTER TABLE documents ADD CONSTRAINT documents_kind_check
    CHECK (kind IN ('notice', 'agreement', 'receipt'));
