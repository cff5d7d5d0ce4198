-- Workers not seen since $1 (they stopped without saying so).
-- params: $1 cutoff
DELETE FROM workers WHERE last_seen_at < $1
