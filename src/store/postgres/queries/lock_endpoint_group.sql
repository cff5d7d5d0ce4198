-- Takes the group's lock for the rest of the transaction: one slot taker per group at a time, across servers.
-- params: $1 name
SELECT name FROM endpoint_groups WHERE name = $1 FOR UPDATE
