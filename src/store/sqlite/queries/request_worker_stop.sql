-- Keeps the first request's time. params: :id, :now
UPDATE workers SET stop_requested_at = coalesce(stop_requested_at, :now) WHERE id = :id
