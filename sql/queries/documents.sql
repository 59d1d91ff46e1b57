-- name: DocumentInsert :one
INSERT INTO documents (case_id, kind, verify_code, created_by, created_at)
VALUES (@case_id, @kind, @verify_code, @created_by, @created_at)
RETURNING *;

-- name: DocumentGet :one
SELECT * FROM documents WHERE id = $1;

-- name: DocumentGetForUpdate :one
SELECT * FROM documents WHERE id = $1 FOR UPDATE;

-- name: DocumentBySHA :one
-- The sealed file as issued, or as completed by a document timestamp.
SELECT * FROM documents WHERE (sha256 = $1 OR stamped_sha256 = $1) AND status = 'sealed';

-- name: DocumentByCode :one
SELECT * FROM documents WHERE verify_code = $1 AND status = 'sealed';

-- name: DocumentsOfCase :many
SELECT id, case_id, kind, status, verify_code, sha256, issued_at, created_at, timestamp_status
FROM documents WHERE case_id = $1 AND status = 'sealed' ORDER BY id;

-- name: DocumentVoidDrafts :exec
UPDATE documents SET status = 'void'
WHERE case_id = @case_id AND kind = @kind AND status = 'draft';

-- name: DocumentSeal :exec
UPDATE documents SET status = 'sealed', pdf = @pdf, sha256 = @sha256, issued_at = @issued_at, ledger_entry = @ledger_entry
WHERE id = @id AND status = 'draft';

-- name: SignatureUpsert :exec
INSERT INTO signatures (document_id, role, signer, image_png, signed_at)
VALUES (@document_id, @role, @signer, @image_png, @signed_at)
ON CONFLICT (document_id, role) DO UPDATE SET signer = EXCLUDED.signer, image_png = EXCLUDED.image_png, signed_at = EXCLUDED.signed_at;

-- name: SignaturesOf :many
SELECT * FROM signatures WHERE document_id = $1;

-- name: SignLinkInsert :exec
INSERT INTO sign_links (token_hash, document_id, created_by, created_at, expires_at, token_enc)
VALUES (@token_hash, @document_id, @created_by, @created_at, @expires_at, @token_enc);

-- name: SignLinkLive :many
-- The live links of a document, newest first.
SELECT token_enc, expires_at FROM sign_links
WHERE document_id = @document_id AND used_at IS NULL AND voided_at IS NULL
  AND expires_at > @now AND token_enc IS NOT NULL
ORDER BY created_at DESC
LIMIT 1;

-- name: SignLinkGetForUpdate :one
SELECT * FROM sign_links WHERE token_hash = $1 FOR UPDATE;

-- name: SignLinkGet :one
SELECT * FROM sign_links WHERE token_hash = $1;

-- name: SignLinkFail :one
UPDATE sign_links SET failures = failures + 1,
    voided_at = CASE WHEN failures + 1 >= 5 THEN @now::timestamptz ELSE voided_at END
WHERE token_hash = @token_hash
RETURNING failures;

-- name: SignLinkUse :exec
UPDATE sign_links SET used_at = @now WHERE token_hash = @token_hash;

-- name: SignLinksVoidForDocument :exec
UPDATE sign_links SET voided_at = @now
WHERE document_id = @document_id AND used_at IS NULL AND voided_at IS NULL;

-- name: CopyLinkInsert :exec
INSERT INTO copy_links (token_hash, document_id, created_at, expires_at, max_uses)
VALUES (@token_hash, @document_id, @created_at, @expires_at, @max_uses);

-- name: CopyLinkGet :one
SELECT l.document_id, l.expires_at, l.uses, l.max_uses, d.status
FROM copy_links l JOIN documents d ON d.id = l.document_id
WHERE l.token_hash = $1;

-- name: CopyLinkUse :one
-- Counts one download of a live link to a sealed document and returns it;
-- no row when the link is spent, expired or its document not sealed.
UPDATE copy_links l SET uses = l.uses + 1
FROM documents d
WHERE l.token_hash = @token_hash AND d.id = l.document_id AND d.status = 'sealed'
  AND l.uses < l.max_uses AND l.expires_at > @now
RETURNING d.id, d.kind, d.pdf, d.sha256, l.uses, l.max_uses, d.stamped_sha256;

-- name: CopyLinksPurge :exec
DELETE FROM copy_links WHERE expires_at < @before;

-- name: NoticeTryLock :one
-- Takes a notice lock (of a case, or of a user) until the transaction
-- ends, without waiting: false when another transaction holds it.
SELECT pg_try_advisory_xact_lock(hashtextextended('daiban.notice:' || @key::text, 0));

-- name: NoticesIssuedSince :one
SELECT count(*) FROM documents
WHERE created_by = @created_by AND kind = 'notice' AND created_at > @since;

-- name: DocumentSealInfo :exec
UPDATE documents SET seal_serial = @seal_serial, timestamp_status = @timestamp_status,
    timestamped_at = @timestamped_at, tsa = @tsa
WHERE id = @id;

-- name: DocumentsAwaitingTimestamp :many
SELECT id FROM documents WHERE timestamp_status = 'awaiting' AND status = 'sealed' ORDER BY id LIMIT 50;

-- name: DocumentGetAwaitingForUpdate :one
SELECT * FROM documents WHERE id = $1 AND timestamp_status = 'awaiting' FOR UPDATE SKIP LOCKED;

-- name: DocumentStamp :exec
UPDATE documents SET pdf = @pdf, stamped_sha256 = @stamped_sha256, timestamp_status = 'stamped',
    timestamped_at = @timestamped_at, tsa = @tsa
WHERE id = @id AND timestamp_status = 'awaiting';
