-- A rate key's total of starts.
-- params: :bucket
SELECT coalesce(max(cum), 0) AS total FROM rate_marks WHERE bucket = :bucket
