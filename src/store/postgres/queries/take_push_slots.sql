-- params: $1 group, $2 job ids, $3 lease tokens, $4 orders (JSON: an array of endpoint ids per job),
--   $5 endpoint ids, $6 their caps (NULL: none), $7 their weights, $8 group cap, $9 least outstanding, $10 now,
--   $11 job ids and $12 lease tokens of slots given back first
SELECT take_push_slots($1, $2::bigint[], $3::bigint[], $4::json, $5::text[], $6::integer[], $7::integer[], $8, $9, $10,
  $11::bigint[], $12::bigint[]) AS chosen
