-- Records the jobs a keyed submission stored (replacing an expired record of the same key).
-- params: :key, :fingerprint, :jobIds (JSON array), :batchId, :now, :expiresAt
INSERT OR REPLACE INTO submit_keys (key, fingerprint, job_ids, batch_id, created_at, expires_at)
VALUES (:key, :fingerprint, :jobIds, :batchId, :now, :expiresAt)
