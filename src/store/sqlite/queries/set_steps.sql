-- The step names of a flow's new jobs. params: :items (JSON array of [id, step])
UPDATE jobs SET step = t.value ->> 1
FROM json_each(:items) AS t
WHERE jobs.id = t.value ->> 0
