<?php
/**
 * Verify that a request came from Offload: the Offload-Signature header of pushes and webhooks.
 *
 * One file, no dependencies (PHP 8.0 or later). Copy it next to your receiver and require it:
 *
 *     require __DIR__ . '/OffloadSignature.php';
 *     try {
 *         \Offload\Signature::verify($secret, $_SERVER['HTTP_OFFLOAD_SIGNATURE'] ?? null, file_get_contents('php://input'));
 *     } catch (\Offload\SignatureException $e) {
 *         http_response_code(401);
 *         exit($e->errorCode);
 *     }
 *
 * The header is t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>, with one v1 per
 * secret the sender holds (two while it rotates secrets). A request is accepted when any v1
 * matches under any of the receiver's secrets, and its t is within $tolerance seconds of the
 * receiver's clock (the replay window). See docs/reference/signatures.md.
 *
 * Both classes live in this one file, so an autoloader that maps one class to one file will not
 * find SignatureException on its own: require the file (or list it under "files" in composer.json).
 */

declare(strict_types=1);

namespace Offload;

/** A refused request; $errorCode is SIGNATURE_MISSING, SIGNATURE_INVALID or SIGNATURE_EXPIRED. */
final class SignatureException extends \RuntimeException
{
    public function __construct(public string $errorCode, string $message)
    {
        parent::__construct("$errorCode: $message");
    }
}

final class Signature
{
    public const HEADER = 'Offload-Signature';
    public const DEFAULT_TOLERANCE = 300;

    /**
     * Returns the signed timestamp (unix seconds), or throws SignatureException.
     *
     * $body is the raw body as received, before any parsing; $now is unix seconds (default: time()).
     */
    public static function verify(string|array $secrets, ?string $header, string $body, int $tolerance = self::DEFAULT_TOLERANCE, ?int $now = null): int
    {
        $keys = self::secretList($secrets);
        if ($header === null || trim($header) === '') {
            throw new SignatureException('SIGNATURE_MISSING', 'the request has no ' . self::HEADER . ' header, so nothing shows that Offload sent it: refuse it. '
                . 'If Offload did send it, check that no proxy between Offload and this receiver drops the header.');
        }
        [$timestamp, $signatures] = self::parse($header);
        // Every pair is compared, so the time taken says nothing about which one came close.
        $matched = false;
        foreach ($keys as $key) {
            $expected = hash_hmac('sha256', "$timestamp.$body", $key);
            foreach ($signatures as $signature) {
                $matched = hash_equals($expected, $signature) || $matched;
            }
        }
        if (!$matched) {
            throw self::invalid('no v1 signature matches the body and timestamp under any of the secrets');
        }
        // Only a signed timestamp is worth judging: a forged request is invalid, not "expired".
        $seconds = (int) $timestamp;
        $nowSeconds = $now ?? time();
        $distance = abs($nowSeconds - $seconds);
        if ($distance > $tolerance) {
            throw new SignatureException('SIGNATURE_EXPIRED', 'the ' . self::HEADER . " timestamp $seconds is $distance s from this receiver's clock ($nowSeconds), "
                . "over the tolerance of $tolerance s. Refuse the request: it may be a replay of an old one. If it is fresh, the sender's or "
                . "this machine's clock is wrong: keep both in sync (NTP).");
        }
        return $seconds;
    }

    /** @return string[] */
    private static function secretList(string|array $secrets): array
    {
        $keys = is_string($secrets) ? [$secrets] : array_values($secrets);
        // Without a secret nothing can be checked: a configuration bug, not a bad request.
        foreach ($keys as $key) {
            if (!is_string($key) || $key === '') {
                $keys = [];
                break;
            }
        }
        if ($keys === []) {
            throw new \InvalidArgumentException('give at least one signing secret, each a non-empty string');
        }
        return $keys;
    }

    /**
     * The timestamp exactly as sent (it is what was signed) and the well-formed v1 signatures.
     *
     * @return array{0: string, 1: string[]}
     */
    private static function parse(string $header): array
    {
        $timestamp = null;
        $signatures = [];
        foreach (explode(',', $header) as $part) {
            if (!str_contains($part, '=')) {
                throw self::invalid('"' . trim($part) . '" is not key=value');
            }
            [$key, $value] = array_map('trim', explode('=', $part, 2));
            if ($key === 't') {
                if ($timestamp !== null) {
                    throw self::invalid('t is given twice');
                }
                if (preg_match('/\A[0-9]{1,15}\z/', $value) !== 1) {
                    throw self::invalid("t=$value is not a unix time in seconds");
                }
                $timestamp = $value;
            } elseif ($key === 'v1' && preg_match('/\A[0-9a-fA-F]{64}\z/', $value) === 1) {
                // A v1 that is not 64 hex digits cannot match: skipped, so it does not hide a good one.
                $signatures[] = strtolower($value);
            }
            // Other keys are schemes this version does not know (a future v2): ignored.
        }
        if ($timestamp === null) {
            throw self::invalid('the header has no t=<unix seconds>');
        }
        if ($signatures === []) {
            throw self::invalid('the header has no v1=<64 hex digits> signature');
        }
        return [$timestamp, $signatures];
    }

    private static function invalid(string $problem): SignatureException
    {
        return new SignatureException('SIGNATURE_INVALID', 'invalid ' . self::HEADER . ": $problem. Refuse the request: it was not signed with any of "
            . "this receiver's secrets, or its body or timestamp changed on the way. If Offload did send it, check that the receiver holds the "
            . "endpoint's current secret and verifies the raw body bytes, before any parsing.");
    }
}
