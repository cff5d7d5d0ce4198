-- Records the jobs a keyed submission stored, once they are inserted (same transaction).
-- params: $1 key, $2 job ids (array), $3 batch id
UPDATE submit_keys SET job_ids = $2::bigint[], batch_id = $3 WHERE key = $1
