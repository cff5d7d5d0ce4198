<?php
// A webhook receiver that refuses any request Offload did not sign, or that is replayed.
// Serve it as any PHP page (php-fpm, Apache; or `php -S 127.0.0.1:8080 verify.php`).
// OFFLOAD_SIGNING_SECRET is the endpoint's secret.
declare(strict_types=1);

require __DIR__ . '/../../clients/php/OffloadSignature.php'; // copy it next to your receiver

use Offload\Signature;
use Offload\SignatureException;

$body = file_get_contents('php://input'); // the raw bytes: verify them before parsing the JSON
try {
    Signature::verify(getenv('OFFLOAD_SIGNING_SECRET'), $_SERVER['HTTP_OFFLOAD_SIGNATURE'] ?? null, $body);
} catch (SignatureException $e) {
    http_response_code(401);
    exit($e->errorCode); // SIGNATURE_MISSING, SIGNATURE_INVALID or SIGNATURE_EXPIRED
}
$event = json_decode($body, true);
error_log('received ' . $event['type']);
http_response_code(204);
