-- The agents' desk (工作台): every open case in exactly one queue
-- (package cases, queues.go holds the queues and passes them in).

-- name: CaseQueues :many
-- A case whose clock runs (@running) is in @overdue_queue when its due
-- date has passed, else in @soon_queue when due by @soon; every other open
-- case is in the queue its state maps to (@states[i] -> @queues[i]); a
-- state not in @states is not listed. Each queue keeps its first @lim
-- cases by due date (an escalation's reply_due stands for it), with the
-- queue's full count in total. Handler is the assignee, else the creator;
-- "mine" also counts the tracker of an open escalation.
WITH open_cases AS (
    SELECT c.id,
           CASE
             WHEN c.state = ANY (@running::text[]) AND c.due_date < @today::date THEN @overdue_queue::text
             WHEN c.state = ANY (@running::text[]) AND c.due_date <= @soon::date THEN @soon_queue::text
             ELSE (@queues::text[])[array_position(@states::text[], c.state)]
           END AS queue,
           coalesce(e.reply_due, c.due_date) AS sort_due
    FROM cases c
    LEFT JOIN escalations e ON e.case_id = c.id AND e.replied_at IS NULL
    WHERE c.state = ANY (@states::text[])
      AND c.region >= @scope::text AND c.region < @scope::text || ':'
      AND (NOT @own_only::boolean OR c.created_by = @username::text OR c.assignee = @username::text)
      AND (NOT @mine::boolean OR coalesce(nullif(c.assignee, ''), c.created_by) = @username::text OR e.tracker = @username::text)
      AND (sqlc.narg(handler)::text IS NULL OR coalesce(nullif(c.assignee, ''), c.created_by) = sqlc.narg(handler)::text)
      AND (sqlc.narg(matter)::text IS NULL OR c.matter_codes @> ARRAY[sqlc.narg(matter)::text])
      AND (sqlc.narg(region)::text IS NULL OR (c.region >= sqlc.narg(region)::text AND c.region < sqlc.narg(region)::text || ':'))
), ranked AS (
    SELECT o.id, o.queue,
           row_number() OVER (PARTITION BY o.queue ORDER BY
               CASE WHEN @descending::boolean THEN o.sort_due END DESC NULLS LAST,
               o.sort_due ASC NULLS LAST,
               CASE WHEN @descending::boolean THEN o.id END DESC,
               o.id) AS rn,
           count(*) OVER (PARTITION BY o.queue) AS total
    FROM open_cases o
), kept AS (
    SELECT id, queue, total, rn FROM ranked WHERE rn <= @lim::bigint
)
SELECT sqlc.embed(c), r.queue::text AS queue, r.total::int AS total,
       e.level AS escalation_level, e.authority AS escalation_authority,
       e.tracker AS escalation_tracker, e.reply_due AS escalation_reply_due
FROM kept r
JOIN cases c ON c.id = r.id
LEFT JOIN escalations e ON e.case_id = c.id AND e.replied_at IS NULL
ORDER BY r.queue, r.rn;
