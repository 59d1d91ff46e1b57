-- Erasing a person's readable data (cases.ErasePerson, issue 13). The
-- ledger is not touched.

-- name: PersonCasesForUpdate :many
SELECT id, number, state, closed_at FROM cases
WHERE applicant_id_number_bidx = ANY(@idx::bytea[])
ORDER BY id
FOR UPDATE;

-- name: EraseNoticeNames :exec
-- Free text that may quote the name: replaced where it does.
UPDATE notices n SET body = replace(n.body, c.applicant_name, @erased::text), title = replace(n.title, c.applicant_name, @erased::text)
FROM cases c WHERE n.case_id = c.id AND c.id = ANY(@ids::bigint[]) AND c.applicant_name <> '';

-- name: EraseCustodyNames :exec
UPDATE custody_moves m SET note = replace(m.note, c.applicant_name, @erased::text)
FROM cases c WHERE m.case_id = c.id AND c.id = ANY(@ids::bigint[]) AND c.applicant_name <> '';

-- name: EraseEscalationNames :exec
UPDATE escalations x SET note = replace(x.note, c.applicant_name, @erased::text), reply_note = replace(x.reply_note, c.applicant_name, @erased::text)
FROM cases c WHERE x.case_id = c.id AND c.id = ANY(@ids::bigint[]) AND c.applicant_name <> '';

-- name: EraseRectifications :exec
-- The applicant's own words go; the center's account of what it did stays,
-- without the name.
UPDATE rectifications r SET comment = '', result = replace(r.result, c.applicant_name, @erased::text)
FROM cases c WHERE r.case_id = c.id AND c.id = ANY(@ids::bigint[]);

-- name: EraseResultNumbers :exec
-- A licence's number identifies its holder.
UPDATE handover_items SET number = '' WHERE case_id = ANY(@ids::bigint[]);

-- name: EraseApplicants :exec
UPDATE cases SET applicant_name = @erased::text, applicant_id_number_enc = NULL, applicant_phone_enc = NULL,
    applicant_id_number_bidx = NULL, applicant_phone_bidx = NULL, summary = '', rating_comment = NULL
WHERE id = ANY(@ids::bigint[]);

-- name: ErasePendingPII :exec
DELETE FROM cases_pii_pending WHERE case_id = ANY(@ids::bigint[]);

-- name: EraseSignatureImages :exec
UPDATE signatures s SET image_png = ''::bytea
FROM documents d WHERE s.document_id = d.id AND d.case_id = ANY(@ids::bigint[]);

-- name: EraseSignLinks :exec
DELETE FROM sign_links l USING documents d WHERE l.document_id = d.id AND d.case_id = ANY(@ids::bigint[]);

-- name: EraseCopyLinks :exec
DELETE FROM copy_links l USING documents d WHERE l.document_id = d.id AND d.case_id = ANY(@ids::bigint[]);

-- name: EraseOpenings :exec
DELETE FROM ledger_openings WHERE case_id = ANY(@ids::bigint[]);

-- name: EraseCaseKeys :exec
DELETE FROM ledger_case_keys WHERE case_id = ANY(@ids::bigint[]);

-- name: EraseDocumentFiles :execrows
-- A sealed document keeps its SHA-256 (its verification page and ledger
-- proof still answer); the PDF, which shows the person, goes.
UPDATE documents SET pdf = ''::bytea WHERE case_id = ANY(@ids::bigint[]) AND pdf IS NOT NULL;

-- name: EraseAppointments :exec
-- Bookings that became the erased cases keep no name or phone.
UPDATE appointments SET name = @erased::text, phone_enc = ''::bytea, phone_last4 = '', phone_idx = NULL
WHERE case_id = ANY(@ids::bigint[]);

-- name: EraseDeliveries :exec
-- A posted result's address, waybill and the carrier's signed proof.
UPDATE case_deliveries SET address_enc = NULL, waybill = '', proof_png = NULL WHERE case_id = ANY(@ids::bigint[]);

-- name: EraseNotificationData :exec
-- What the texts and 12345 replies said (a result may be free text).
UPDATE notifications SET data = '{}' WHERE case_id = ANY(@ids::bigint[]);

-- name: ErasePhonesOfCases :many
-- The sealed phones of the cases to erase (their bookings are found by it).
SELECT number, applicant_phone_enc FROM cases WHERE id = ANY(@ids::bigint[]) AND applicant_phone_enc IS NOT NULL;

-- name: EraseBookingsOfPhone :exec
-- Every booking made with the erased person's phone: open ones are
-- cancelled (their places freed), and none keeps a name or phone.
WITH hit AS (
    SELECT id, slot_id, status IN ('booked', 'confirmed') AS open FROM appointments
    WHERE phone_idx = ANY(@idx::bytea[]) FOR UPDATE
), freed AS (
    UPDATE appointment_slots s SET booked = s.booked - n.c
    FROM (SELECT slot_id, count(*) AS c FROM hit WHERE open GROUP BY slot_id) n
    WHERE s.id = n.slot_id
)
UPDATE appointments a SET name = @erased::text, phone_enc = ''::bytea, phone_last4 = '', phone_idx = NULL,
    status = CASE WHEN hit.open THEN 'cancelled' ELSE a.status END, updated_at = now()
FROM hit WHERE a.id = hit.id;
