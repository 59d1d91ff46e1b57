-- +goose Up
-- A booking's phone as a blind index (pii.Keys.Index): one phone may hold
-- only a few open bookings and receive only a few codes a day, so nobody
-- can flood a stranger's phone with texts or take a township's places
-- with one number. Bookings made before this have none and count for
-- nothing.
ALTER TABLE appointments ADD COLUMN phone_idx bytea;
CREATE INDEX appointments_phone_idx ON appointments (phone_idx) WHERE phone_idx IS NOT NULL;

-- +goose Down
ALTER TABLE appointments DROP COLUMN phone_idx;
