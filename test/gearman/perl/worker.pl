# Test worker: perl worker.pl PORT. Gearman::Worker (libgearman-client-perl), a pure-Perl
# implementation of the protocol: perl.reverse reports status then returns its argument
# reversed; perl.fail dies (the module sends WORK_EXCEPTION, then WORK_FAIL).
use strict;
use warnings;
use Gearman::Worker;

$| = 1;
my $worker = Gearman::Worker->new(job_servers => ["127.0.0.1:$ARGV[0]"]);
$worker->register_function('perl.reverse' => sub {
    my $job = shift;
    $job->set_status(1, 2);
    return scalar reverse $job->arg;
});
$worker->register_function('perl.fail' => sub { die "perl says no\n" });
print "READY\n";
$worker->work while 1;
