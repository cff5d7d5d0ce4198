-- Forgets the throughput buckets of minutes before :cutoff.
-- params: :cutoff
DELETE FROM job_throughput WHERE minute < :cutoff
