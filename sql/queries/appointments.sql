-- name: SlotOpen :one
INSERT INTO appointment_slots (region, day, half, capacity, opened_by, opened_at)
VALUES (@region, @day, @half, @capacity, @opened_by, @opened_at)
ON CONFLICT (region, day, half) DO UPDATE SET
    capacity = GREATEST(EXCLUDED.capacity, appointment_slots.booked),
    opened_by = EXCLUDED.opened_by, opened_at = EXCLUDED.opened_at
RETURNING *;

-- name: SlotsBetween :many
SELECT * FROM appointment_slots
WHERE region = @region AND day BETWEEN @from_day AND @to_day
ORDER BY day, half;

-- name: SlotsInScope :many
SELECT * FROM appointment_slots
WHERE region LIKE @prefix::text || '%' AND day BETWEEN @from_day AND @to_day
ORDER BY region, day, half;

-- name: SlotTake :one
-- Takes one place only while one is left: concurrent bookings serialize on
-- the row and the loser of the last place gets no row.
UPDATE appointment_slots SET booked = booked + 1
WHERE id = @id AND booked < capacity
RETURNING *;

-- name: SlotRelease :exec
UPDATE appointment_slots SET booked = booked - 1 WHERE id = @id AND booked > 0;

-- name: SlotGet :one
SELECT * FROM appointment_slots WHERE id = $1;

-- name: AppointmentInsert :one
INSERT INTO appointments (code, slot_id, region, day, half, matter_code, chain_code, name, phone_enc, phone_last4, phone_idx, otp_hash, status, created_at, updated_at)
VALUES (@code, @slot_id, @region, @day, @half, @matter_code, @chain_code, @name, @phone_enc, @phone_last4, @phone_idx, @otp_hash, 'booked', @created_at, @created_at)
RETURNING *;

-- name: AppointmentByCode :one
SELECT * FROM appointments WHERE code = $1;

-- name: AppointmentByCodeForUpdate :one
SELECT * FROM appointments WHERE code = $1 FOR UPDATE;

-- name: AppointmentByID :one
SELECT * FROM appointments WHERE id = $1;

-- name: AppointmentSetStatus :exec
UPDATE appointments SET status = @status, confirmed_via = @confirmed_via, otp_hash = @otp_hash,
    otp_tries = @otp_tries, case_id = @case_id, updated_at = @updated_at
WHERE id = @id;

-- name: AppointmentsOn :many
SELECT * FROM appointments
WHERE region LIKE @prefix::text || '%' AND day = @day AND status IN ('booked', 'confirmed', 'arrived')
ORDER BY half, id;

-- name: AppointmentNoShows :many
-- Per township, the month's bookings not cancelled, and those nobody came
-- to: still booked or confirmed after their day, never turned into a case.
SELECT region,
    count(*)::bigint AS booked,
    (count(*) FILTER (WHERE day < @today AND status IN ('booked', 'confirmed') AND case_id IS NULL))::bigint AS no_shows
FROM appointments
WHERE day >= @from_day AND day < @to_day AND status <> 'cancelled'
  AND region LIKE @prefix::text || '%'
GROUP BY region ORDER BY region;

-- name: AppointmentPhoneStale :many
-- Phones sealed under another key version than @prefix names.
SELECT id, code, phone_enc FROM appointments
WHERE substring(phone_enc FROM 1 FOR 4) <> @prefix::bytea
ORDER BY id LIMIT 500;

-- name: AppointmentPhoneReseal :exec
UPDATE appointments SET phone_enc = @phone_enc WHERE id = @id AND phone_enc = @old_enc;

-- name: AppointmentPhoneLock :exec
-- Bookings of one phone are counted and made one at a time.
SELECT pg_advisory_xact_lock(hashtextextended(encode(@phone_idx::bytea, 'hex'), 7431));

-- name: AppointmentPhoneUse :one
-- A phone's open bookings from today on, and the bookings (texts) made
-- with it since a moment.
SELECT count(*) FILTER (WHERE status IN ('booked', 'confirmed') AND day >= @today::date) AS open,
       count(*) FILTER (WHERE created_at >= @since::timestamptz) AS recent
FROM appointments WHERE phone_idx = ANY(@idx::bytea[]);
