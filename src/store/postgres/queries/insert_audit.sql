-- One row per entry, all in one statement. params: $1 actors, $2 methods, $3 routes, $4 targets
-- (JSON arrays as text), $5 summaries, $6 statuses, $7 times
INSERT INTO audit_log (actor, method, route, targets, summary, status, at)
SELECT e.actor, e.method, e.route, ARRAY(SELECT jsonb_array_elements_text(e.targets::jsonb)), e.summary, e.status, e.at
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::integer[], $7::bigint[])
  AS e(actor, method, route, targets, summary, status, at)
