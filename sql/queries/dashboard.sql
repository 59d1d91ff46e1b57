-- The supervisor dashboard's figures, one row per township (the first nine
-- characters of the region code; cases of the county itself group under the
-- six-character county code), inside the scope.

-- name: DashboardTownships :many
-- open: not closed, declined or terminated. overdue: the clock runs
-- (delegated, processing, ready_for_handover) and the due date has passed,
-- as the supervision lists count it. handed_over / on_time: cases closed by
-- the applicant's signed receipt, and of those the ones closed (Beijing
-- time) on or before their due date.
SELECT left(region, 9)::text AS township,
       count(*)::int AS total,
       count(*) FILTER (WHERE state NOT IN ('closed', 'declined', 'terminated'))::int AS open,
       count(*) FILTER (WHERE state IN ('delegated', 'processing', 'ready_for_handover') AND due_date < @today::date)::int AS overdue,
       count(*) FILTER (WHERE state = 'escalated')::int AS escalated,
       count(*) FILTER (WHERE outcome = 'handed_over')::int AS handed_over,
       count(*) FILTER (WHERE outcome = 'handed_over' AND due_date IS NOT NULL
                          AND (closed_at AT TIME ZONE 'Asia/Shanghai')::date <= due_date)::int AS on_time,
       count(rating)::int AS rated,
       coalesce(sum(rating), 0)::int AS rating_sum,
       count(*) FILTER (WHERE rating = 1)::int AS rating1,
       count(*) FILTER (WHERE rating = 2)::int AS rating2,
       count(*) FILTER (WHERE rating = 3)::int AS rating3,
       count(*) FILTER (WHERE rating = 4)::int AS rating4,
       count(*) FILTER (WHERE rating = 5)::int AS rating5
FROM cases
WHERE region >= @scope::text AND region < @scope::text || ':'
GROUP BY 1
ORDER BY 1;
