<?php
// A GearmanClient for the tests: php client.php PORT COMMAND ARGS...; prints one JSON line per answer.
//   do MODE FUNCTION WORKLOAD [UNIQUE]    MODE: normal | high | low | background | highbackground | lowbackground
//   status HANDLE                         jobStatus
//   unique UNIQUE                         jobStatusByUniqueKey (needs a fresh client afterwards: libgearman bug)
//   ping DATA
//   tasks FUNCTION:WORKLOAD ...           addTask/addTaskHigh/... + runTasks with every callback
$port = (int)$argv[1];
$command = $argv[2];
$args = array_slice($argv, 3);
$out = function ($value) { fwrite(STDOUT, json_encode($value) . "\n"); fflush(STDOUT); };

$c = new GearmanClient();
$c->addServer('127.0.0.1', $port);
switch ($command) {
    case 'do':
        [$mode, $fn, $workload] = $args;
        $unique = $args[3] ?? null;
        $method = ['normal' => 'doNormal', 'high' => 'doHigh', 'low' => 'doLow', 'background' => 'doBackground',
            'highbackground' => 'doHighBackground', 'lowbackground' => 'doLowBackground'][$mode];
        $result = $c->$method($fn, $workload, $unique);
        $out(['result' => $result, 'returnCode' => $c->returnCode(), 'handle' => $c->doJobHandle()]);
        break;
    case 'status':
        $out($c->jobStatus($args[0]));
        break;
    case 'unique':
        $out($c->jobStatusByUniqueKey($args[0]));
        break;
    case 'ping':
        $out($c->ping($args[0]));
        break;
    case 'tasks':
        $c->setCreatedCallback(function (GearmanTask $t) use ($out) { $out(['created', $t->unique()]); });
        $c->setDataCallback(function (GearmanTask $t) use ($out) { $out(['data', $t->unique(), $t->data()]); });
        $c->setStatusCallback(function (GearmanTask $t) use ($out) { $out(['status', $t->unique(), $t->taskNumerator(), $t->taskDenominator()]); });
        $c->setCompleteCallback(function (GearmanTask $t, $context) use ($out) { $out(['complete', $t->unique(), $t->data(), $context]); });
        $c->setFailCallback(function (GearmanTask $t) use ($out) { $out(['fail', $t->unique()]); });
        $c->setExceptionCallback(function (GearmanTask $t) use ($out) { $out(['exception', $t->unique(), $t->data()]); });
        foreach ($args as $i => $spec) {
            [$fn, $workload] = explode(':', $spec, 2);
            $c->addTask($fn, $workload, "ctx$i", "task-$i");
        }
        $out(['ran', $c->runTasks(), $c->returnCode()]);
        break;
}
