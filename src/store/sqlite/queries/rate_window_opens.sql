-- When a full rate window next has room: the first mark whose total is above the total now less
-- the limit leaves the window a period after it was made.
-- params: :bucket, :above (the total now minus the limit)
SELECT at FROM rate_marks WHERE bucket = :bucket AND cum > :above ORDER BY cum LIMIT 1
