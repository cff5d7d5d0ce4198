SELECT task, 'running' AS state, count(*) AS count FROM jobs WHERE state = 'running' GROUP BY task
