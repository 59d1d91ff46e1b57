-- +goose Up
-- The 办事指南 fields of the catalog: what a public guide shows besides the
-- matter's name, department, level, limit and materials. Empty means the
-- department has not published it (the guide says so; nothing is guessed).
ALTER TABLE matters
    ADD COLUMN conditions   text NOT NULL DEFAULT '',
    ADD COLUMN legal_basis  text NOT NULL DEFAULT '',
    ADD COLUMN fees         text NOT NULL DEFAULT '',
    ADD COLUMN office_hours text NOT NULL DEFAULT '',
    ADD COLUMN phone        text NOT NULL DEFAULT '',
    -- flow: [{"step": "...", "who": "...", "days": N}], empty for the
    -- center's own four steps around the department's promised limit.
    ADD COLUMN flow         jsonb NOT NULL DEFAULT '[]'::jsonb
        CHECK (jsonb_typeof(flow) = 'array');

-- Per material of a matter: where the applicant gets it, and the blank
-- form and filled-in sample the department publishes (URLs), if any.
ALTER TABLE matter_materials
    ADD COLUMN source     text NOT NULL DEFAULT '',
    ADD COLUMN blank_form text NOT NULL DEFAULT '',
    ADD COLUMN sample     text NOT NULL DEFAULT '';

ALTER TABLE chains
    ADD COLUMN description text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE chains DROP COLUMN description;
ALTER TABLE matter_materials DROP COLUMN source, DROP COLUMN blank_form, DROP COLUMN sample;
ALTER TABLE matters DROP COLUMN conditions, DROP COLUMN legal_basis, DROP COLUMN fees,
    DROP COLUMN office_hours, DROP COLUMN phone, DROP COLUMN flow;
