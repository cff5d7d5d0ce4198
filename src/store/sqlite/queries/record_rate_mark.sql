-- A rate key's total of starts after a claim (within the claim's transaction).
-- params: :bucket, :now, :cum
INSERT INTO rate_marks (bucket, at, cum) VALUES (:bucket, :now, :cum)
ON CONFLICT (bucket, at) DO UPDATE SET cum = excluded.cum
