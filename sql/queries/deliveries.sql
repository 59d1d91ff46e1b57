-- name: DeliveryUpsert :exec
INSERT INTO case_deliveries (case_id, method, updated_at) VALUES (@case_id, @method, @updated_at)
ON CONFLICT (case_id) DO UPDATE SET method = EXCLUDED.method, carrier = '', waybill = '',
    address_enc = NULL, otp_hash = NULL, otp_tries = 0, dispatched_at = NULL,
    confirmed_at = NULL, confirmed_by = '', proof_png = NULL, updated_at = EXCLUDED.updated_at;

-- name: DeliveryGet :one
SELECT * FROM case_deliveries WHERE case_id = $1;

-- name: DeliveryGetForUpdate :one
SELECT * FROM case_deliveries WHERE case_id = $1 FOR UPDATE;

-- name: DeliveryDispatch :exec
UPDATE case_deliveries SET carrier = @carrier, waybill = @waybill, address_enc = @address_enc,
    otp_hash = @otp_hash, otp_tries = 0, dispatched_at = @at, updated_at = @at
WHERE case_id = @case_id;

-- name: DeliveryTry :one
UPDATE case_deliveries SET otp_tries = otp_tries + 1, updated_at = @at WHERE case_id = @case_id
RETURNING otp_tries;

-- name: DeliveryConfirm :exec
UPDATE case_deliveries SET confirmed_at = @at, confirmed_by = @confirmed_by, proof_png = @proof_png,
    otp_hash = NULL, updated_at = @at
WHERE case_id = @case_id;

-- name: DeliveryAddressStale :many
-- Addresses sealed under another key version than @prefix names.
SELECT case_id, address_enc FROM case_deliveries
WHERE address_enc IS NOT NULL AND substring(address_enc FROM 1 FOR 4) <> @prefix::bytea
ORDER BY case_id LIMIT 500;

-- name: DeliveryAddressReseal :exec
UPDATE case_deliveries SET address_enc = @address_enc WHERE case_id = @case_id AND address_enc = @old_enc;
