-- Batches and flows, newest first. params: :beforeId (null: from the newest), :limit
SELECT {{BATCH_COLUMNS}} FROM batches WHERE :beforeId IS NULL OR id < :beforeId ORDER BY id DESC LIMIT :limit
