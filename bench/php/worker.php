<?php
// Bench worker: php worker.php PORT; function `bench` returns its workload.
$w = new GearmanWorker();
$w->addServer('127.0.0.1', (int)$argv[1]);
$w->addFunction('bench', fn(GearmanJob $j) => $j->workload());
echo "READY\n";
while ($w->work());
