-- When a full rate window next has room: the first mark whose total is above the key's total now
-- less the limit leaves the window a period after it was made. None while the window has room.
-- params: :bucket, :limit
SELECT m.at FROM rate_marks m
WHERE m.bucket = :bucket AND m.cum > (SELECT max(x.cum) FROM rate_marks x WHERE x.bucket = :bucket) - :limit
  AND (SELECT max(x.cum) FROM rate_marks x WHERE x.bucket = :bucket) >= :limit
ORDER BY m.cum LIMIT 1
