<?php
// A GearmanWorker for the tests: php worker.php PORT ID [MARKER_DIR]
// Functions: reverse, steps (sendStatus/sendData), fail (sendFail), exc (sendException),
// hang (first attempt announces itself and hangs; later attempts succeed, using a marker file),
// timed (registered with a 1000 ms timeout; hangs like `hang`).
[$_, $port, $id] = $argv;
$markers = $argv[3] ?? sys_get_temp_dir();
$say = function (string $line) { fwrite(STDOUT, $line . "\n"); fflush(STDOUT); };

$w = new GearmanWorker();
$w->setId($id);
$w->addServer('127.0.0.1', (int)$port);
$w->addFunction('reverse', fn(GearmanJob $j) => strrev($j->workload()));
$w->addFunction('steps', function (GearmanJob $j) {
    $j->sendStatus(1, 2);
    $j->sendData('partial-');
    $j->sendStatus(2, 2);
    return 'done:' . $j->workload();
});
$w->addFunction('fail', function (GearmanJob $j) { $j->sendFail(); });
$w->addFunction('exc', function (GearmanJob $j) { $j->sendException('boom: ' . $j->workload()); });
$once = function (GearmanJob $j) use ($say, $markers, $id) {
    $marker = $markers . '/started-' . md5($j->functionName() . $j->workload());
    if (!file_exists($marker)) {
        touch($marker);
        $say("STARTED " . $j->handle());
        sleep(3600); // until the test kills this process
    }
    return "done by $id on attempt 2";
};
$w->addFunction('hang', $once);
$w->addFunction('timed', $once, null, 1000);
$say("READY");
while ($w->work()) {
    if ($w->returnCode() !== GEARMAN_SUCCESS) { $say("ERROR " . $w->error()); break; }
}
