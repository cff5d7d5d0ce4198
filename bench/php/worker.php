<?php
// Bench worker: php worker.php PORT [FUNCTION] [drain]
// FUNCTION (default `bench`) returns its workload. In drain mode the worker prints READY, waits for
// a line on stdin (so that every worker starts at once), works until it has found nothing for a
// second, then prints one JSON line: jobs done and when its first job began and its last one ended
// (epoch seconds).
$port = (int)$argv[1];
$fn = $argv[2] ?? 'bench';
$drain = ($argv[3] ?? '') === 'drain';
$w = new GearmanWorker();
$w->addServer('127.0.0.1', $port);
$n = 0;
$first = null;
$last = null;
$w->addFunction($fn, function (GearmanJob $j) use (&$n, &$first, &$last) {
    $first ??= microtime(true);
    $n++;
    $last = microtime(true);
    return $j->workload();
});
echo "READY\n";
if (!$drain) {
    while ($w->work());
    exit(0);
}
fgets(STDIN);
$w->setTimeout(1000);
while (true) {
    $ok = @$w->work();
    if ($w->returnCode() === GEARMAN_TIMEOUT) break;
    if (!$ok) { fwrite(STDERR, 'worker failed: ' . $w->error() . "\n"); exit(1); }
}
echo json_encode(['n' => $n, 'first' => $first, 'last' => $last]), "\n";
