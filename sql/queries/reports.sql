-- The monthly dispatch report (每月调度报告, package reports). Every figure
-- is grouped by township: the first nine characters of the case's region
-- code (cases of the county itself group under the six-character county
-- code). A month is [@month_start::timestamptz, @month_end::timestamptz) in Asia/Shanghai; "at month
-- end" means as of @month_end::timestamptz, judged from the stored timestamps only, so a
-- finished month's figures do not move with the clock. @overdue_before is
-- the report's as-of date (the month's last day, or today for the month in
-- progress): a due date before it has passed.

-- name: ReportTownships :many
-- The townships of a region (a township region lists itself).
SELECT code, name FROM regions
WHERE level = 'township' AND left(code, length(@scope::text)) = @scope::text
ORDER BY code;

-- name: ReportFigures :many
-- received: created in the month, and by the mode chosen for them.
-- delegated: agreement signed in the month. closed: closed (办结: guided,
-- accompanied or handed over; not declined or terminated) in the month;
-- closed_delegated of them were delegated, closed_on_time of those on or
-- before the due date (closed date in Beijing time). ratingN: ratings of N
-- given in the month. (The cases overdue at month end are counted from
-- ReportOverdue.)
SELECT left(region, 9)::text AS township,
       count(*) FILTER (WHERE created_at >= @month_start::timestamptz AND created_at < @month_end::timestamptz)::int AS received,
       count(*) FILTER (WHERE created_at >= @month_start::timestamptz AND created_at < @month_end::timestamptz AND mode = 'guide')::int AS received_guide,
       count(*) FILTER (WHERE created_at >= @month_start::timestamptz AND created_at < @month_end::timestamptz AND mode = 'accompany')::int AS received_accompany,
       count(*) FILTER (WHERE created_at >= @month_start::timestamptz AND created_at < @month_end::timestamptz AND mode = 'delegate')::int AS received_delegate,
       count(*) FILTER (WHERE delegated_at >= @month_start::timestamptz AND delegated_at < @month_end::timestamptz)::int AS delegated,
       count(*) FILTER (WHERE state = 'closed' AND closed_at >= @month_start::timestamptz AND closed_at < @month_end::timestamptz)::int AS closed,
       count(*) FILTER (WHERE state = 'closed' AND closed_at >= @month_start::timestamptz AND closed_at < @month_end::timestamptz
                          AND delegated_at IS NOT NULL AND due_date IS NOT NULL)::int AS closed_delegated,
       count(*) FILTER (WHERE state = 'closed' AND closed_at >= @month_start::timestamptz AND closed_at < @month_end::timestamptz
                          AND delegated_at IS NOT NULL AND due_date IS NOT NULL
                          AND (closed_at AT TIME ZONE 'Asia/Shanghai')::date <= due_date)::int AS closed_on_time,
       count(*) FILTER (WHERE rated_at >= @month_start::timestamptz AND rated_at < @month_end::timestamptz AND rating = 1)::int AS rating1,
       count(*) FILTER (WHERE rated_at >= @month_start::timestamptz AND rated_at < @month_end::timestamptz AND rating = 2)::int AS rating2,
       count(*) FILTER (WHERE rated_at >= @month_start::timestamptz AND rated_at < @month_end::timestamptz AND rating = 3)::int AS rating3,
       count(*) FILTER (WHERE rated_at >= @month_start::timestamptz AND rated_at < @month_end::timestamptz AND rating = 4)::int AS rating4,
       count(*) FILTER (WHERE rated_at >= @month_start::timestamptz AND rated_at < @month_end::timestamptz AND rating = 5)::int AS rating5
FROM cases
WHERE region >= @scope::text AND region < @scope::text || ':'
  AND created_at < @month_end::timestamptz
  AND (created_at >= @month_start::timestamptz OR closed_at IS NULL OR closed_at >= @month_start::timestamptz OR rated_at >= @month_start::timestamptz)
GROUP BY 1
ORDER BY 1;

-- name: ReportCloseSpans :many
-- Cases closed in the month, counted by township, the day their clock
-- started (the agreement signed, or the case opened when it was not
-- delegated) and the day they closed, Beijing time: the working days
-- between are counted with the calendar in force.
SELECT left(region, 9)::text AS township,
       (coalesce(delegated_at, created_at) AT TIME ZONE 'Asia/Shanghai')::date AS start_day,
       (closed_at AT TIME ZONE 'Asia/Shanghai')::date AS close_day,
       count(*)::int AS n
FROM cases
WHERE region >= @scope::text AND region < @scope::text || ':'
  AND state = 'closed' AND closed_at >= @month_start::timestamptz AND closed_at < @month_end::timestamptz
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3;

-- name: ReportOverdue :many
-- The overdue list: cases closed in the month after their due date, and
-- delegated cases still open at month end whose due date is before the
-- as-of date and whose clock was running then (the caller reads closed_at
-- as of month end). The state at month end is the "to" of the case's last
-- state change before it in the ledger (at: the time the service wrote
-- into the entry, else the entry's own); a case waiting for materials,
-- suspended or waiting on a higher authority is not the center's delay
-- (its due date moves out when the clock restarts). A case without state
-- changes in the ledger counts as running. The handler is the case's
-- dedicated agent (assignee), else the agent who opened it.
SELECT c.id, c.number, left(c.region, 9)::text AS township, c.title,
       c.delegated_at, c.due_date::date AS due_day, c.closed_at,
       coalesce(nullif(c.assignee, ''), c.created_by)::text AS handler,
       coalesce(u.name, '')::text AS handler_name
FROM cases c
LEFT JOIN users u ON u.username = coalesce(nullif(c.assignee, ''), c.created_by)
WHERE c.region >= @scope::text AND c.region < @scope::text || ':'
  AND c.delegated_at < @month_end::timestamptz AND c.due_date IS NOT NULL
  AND ((c.state = 'closed' AND c.closed_at >= @month_start::timestamptz AND c.closed_at < @month_end::timestamptz
        AND (c.closed_at AT TIME ZONE 'Asia/Shanghai')::date > c.due_date)
       OR (c.due_date < @overdue_before::date AND (c.closed_at IS NULL OR c.closed_at >= @month_end::timestamptz)
           AND coalesce((
               SELECT ev.j ->> 'to'
               FROM ledger_entries l
               CROSS JOIN LATERAL (SELECT convert_from(l.payload, 'UTF8')::jsonb AS j) ev
               CROSS JOIN LATERAL (SELECT coalesce((ev.j ->> 'at')::timestamptz, l.at) AS at) t
               WHERE l.case_id = c.id AND l.type LIKE 'case.%'
                 AND ev.j ->> 'to' IS NOT NULL AND ev.j ->> 'from' IS DISTINCT FROM ev.j ->> 'to'
                 AND t.at < @month_end::timestamptz
               ORDER BY t.at DESC, l.id DESC
               LIMIT 1), 'processing') IN ('delegated', 'processing', 'ready_for_handover')))
ORDER BY 3, c.due_date, c.number;

-- name: ReportEscalations :many
-- Escalations (转报上级) made in the month, by township, level and their
-- outcome as of month end (pending: no reply by then).
SELECT left(c.region, 9)::text AS township, e.level,
       (CASE WHEN e.replied_at < @month_end::timestamptz THEN coalesce(e.outcome, 'pending') ELSE 'pending' END)::text AS outcome,
       count(*)::int AS n
FROM escalations e
JOIN cases c ON c.id = e.case_id
WHERE c.region >= @scope::text AND c.region < @scope::text || ':'
  AND e.created_at >= @month_start::timestamptz AND e.created_at < @month_end::timestamptz
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3;

-- name: ReportRectifications :many
-- 差评 (ratings of 2 or less) received in the month with their
-- rectification (the caller reads status and rectified_at as of month
-- end).
SELECT c.id, c.number, left(c.region, 9)::text AS township, c.title, r.rating,
       r.opened_at, r.due_date AS due_day, r.status, r.closed_at AS rectified_at,
       coalesce(nullif(c.assignee, ''), c.created_by)::text AS handler,
       coalesce(u.name, '')::text AS handler_name
FROM rectifications r
JOIN cases c ON c.id = r.case_id
LEFT JOIN users u ON u.username = coalesce(nullif(c.assignee, ''), c.created_by)
WHERE c.region >= @scope::text AND c.region < @scope::text || ':'
  AND r.opened_at >= @month_start::timestamptz AND r.opened_at < @month_end::timestamptz
ORDER BY 3, r.opened_at, c.number;
