<?php
// Bench client: php client.php PORT MODE N [FUNCTION] [RATE]
//   background  doBackground in a loop
//   foreground  doNormal in a loop, each result checked
//   bulk        addTaskBackground × 1000, then runTasks, until N are submitted
//   paced       doNormal at RATE calls per second (latency at a steady load)
// Prints one JSON line: jobs done, wall-clock start and end (epoch seconds), per-call latencies in ms
// (per runTasks in bulk mode).
$port = (int)$argv[1];
$mode = $argv[2];
$n = (int)$argv[3];
$fn = $argv[4] ?? ($mode === 'background' || $mode === 'bulk' ? 'bench_bg' : 'bench');
$rate = (float)($argv[5] ?? 100);
$c = new GearmanClient();
$c->addServer('127.0.0.1', $port);
$foreground = $mode === 'foreground' || $mode === 'paced';
for ($i = 0; $i < 20; $i++) { // warm-up: connection, function registration (bulk warms up on a function nobody drains)
    $foreground ? $c->doNormal($fn, "warm-$i") : $c->doBackground($mode === 'bulk' ? 'bench_bg' : $fn, "warm-$i");
}
function fail(string $what): void { fwrite(STDERR, "$what\n"); exit(1); }
$latencies = [];
$start = microtime(true);
if ($mode === 'bulk') {
    $c->setCompleteCallback(fn() => null);
    for ($done = 0; $done < $n;) {
        $t = hrtime(true);
        $batch = min(1000, $n - $done);
        for ($i = 0; $i < $batch; $i++) {
            $c->addTaskBackground($fn, 'payload-' . ($done + $i));
        }
        if (!$c->runTasks()) fail('runTasks failed: ' . $c->error());
        $done += $batch;
        $latencies[] = (hrtime(true) - $t) / 1e6;
    }
} else {
    $interval = 1e9 / $rate;
    $t0 = hrtime(true);
    for ($i = 0; $i < $n; $i++) {
        if ($mode === 'paced') {
            $wait = $t0 + $i * $interval - hrtime(true);
            if ($wait > 0) usleep((int)($wait / 1000));
        }
        $t = hrtime(true);
        $payload = "payload-$i";
        if ($foreground) {
            $result = $c->doNormal($fn, $payload);
            if ($result !== $payload || $c->returnCode() !== GEARMAN_SUCCESS) fail('bad result: ' . var_export($result, true));
        } else {
            $c->doBackground($fn, $payload);
            if ($c->returnCode() !== GEARMAN_SUCCESS) fail('submit failed: ' . $c->error());
        }
        $latencies[] = (hrtime(true) - $t) / 1e6;
    }
}
$end = microtime(true);
echo json_encode(['n' => $n, 'start' => $start, 'end' => $end, 'latencies' => $latencies]), "\n";
