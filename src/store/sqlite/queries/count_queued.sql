SELECT task, 'queued' AS state, count(*) AS count FROM jobs WHERE state = 'queued' GROUP BY task
