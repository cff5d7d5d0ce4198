-- Keeps the first request's time. params: $1 id, $2 now
UPDATE workers SET stop_requested_at = coalesce(stop_requested_at, $2) WHERE id = $1 RETURNING id
