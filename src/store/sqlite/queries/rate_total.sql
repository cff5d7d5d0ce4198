-- A rate key's total of starts, and the total at a window's start (the latest mark at or before it).
-- params: :bucket, :since (now minus the period)
SELECT coalesce((SELECT max(cum) FROM rate_marks WHERE bucket = :bucket), 0) AS total,
  coalesce((SELECT cum FROM rate_marks WHERE bucket = :bucket AND at <= :since ORDER BY at DESC LIMIT 1), 0) AS base
