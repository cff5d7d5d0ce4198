-- Queued jobs per task and priority, from the queue index.
SELECT task, priority::integer AS priority, count(*)::integer AS count FROM jobs WHERE state = 'queued' GROUP BY task, priority
