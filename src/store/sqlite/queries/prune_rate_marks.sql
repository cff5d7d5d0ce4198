-- Forgets the marks of a rate key that no task of the key needs: the latest at or before the
-- longest window's start stays, as that window's base.
-- params: :bucket, :now
DELETE FROM rate_marks WHERE bucket = :bucket AND at < (
  SELECT max(at) FROM rate_marks WHERE bucket = :bucket
    AND at <= :now - (SELECT coalesce(max(rate_period_ms), 0) FROM tasks WHERE rate_key = :bucket))
