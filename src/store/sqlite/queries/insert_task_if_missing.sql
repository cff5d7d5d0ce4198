-- params: :name, :settings (JSON), :concurrency, :concurrencyPerKey, :now
INSERT INTO tasks (name, settings, concurrency, concurrency_per_key, updated_at)
VALUES (:name, :settings, :concurrency, :concurrencyPerKey, :now)
ON CONFLICT (name) DO NOTHING
