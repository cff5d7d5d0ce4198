<?php
// Bench client: php client.php PORT MODE N  (MODE: background | foreground)
// Prints one JSON line: jobs done, wall-clock start and end (epoch seconds), per-call latencies in ms.
// Background jobs go to a function no bench worker does (`bench_bg`), so they never mix with G2.
[$_, $port, $mode, $n] = $argv;
$fn = $mode === 'foreground' ? 'bench' : 'bench_bg';
$c = new GearmanClient();
$c->addServer('127.0.0.1', (int)$port);
for ($i = 0; $i < 20; $i++) { // warm-up: connection, function registration
    $mode === 'foreground' ? $c->doNormal($fn, "warm-$i") : $c->doBackground($fn, "warm-$i");
}
$latencies = [];
$start = microtime(true);
for ($i = 0; $i < (int)$n; $i++) {
    $t = hrtime(true);
    $payload = "payload-$i";
    if ($mode === 'foreground') {
        $result = $c->doNormal($fn, $payload);
        if ($result !== $payload || $c->returnCode() !== GEARMAN_SUCCESS) { fwrite(STDERR, "bad result: " . var_export($result, true) . "\n"); exit(1); }
    } else {
        $c->doBackground($fn, $payload);
        if ($c->returnCode() !== GEARMAN_SUCCESS) { fwrite(STDERR, "submit failed: " . $c->error() . "\n"); exit(1); }
    }
    $latencies[] = (hrtime(true) - $t) / 1e6;
}
$end = microtime(true);
echo json_encode(['n' => (int)$n, 'start' => $start, 'end' => $end, 'latencies' => $latencies]), "\n";
