-- The step names of a flow's new jobs. params: arrays $1 ids, $2 steps
UPDATE jobs j SET step = t.step
FROM unnest($1::bigint[], $2::text[]) AS t(id, step)
WHERE j.id = t.id
