-- Workers not seen since :cutoff (they stopped without saying so).
-- params: :cutoff
DELETE FROM workers WHERE last_seen_at < :cutoff
