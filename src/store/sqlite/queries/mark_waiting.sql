-- New jobs that wait for others. params: :items (JSON array of [id, number of jobs it waits for])
UPDATE jobs SET state = 'waiting', deps_pending = t.value ->> 1, deps_total = t.value ->> 1
FROM json_each(:items) AS t
WHERE jobs.id = t.value ->> 0
