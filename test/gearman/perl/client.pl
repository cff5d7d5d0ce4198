# Test client: perl client.pl PORT. Gearman::Client (libgearman-client-perl): do_task,
# dispatch_background, a task set with callbacks, get_status. Prints one line per result.
use strict;
use warnings;
use Gearman::Client;

$| = 1;
my $client = Gearman::Client->new(job_servers => ["127.0.0.1:$ARGV[0]"]);

my $result = $client->do_task('perl.reverse', 'Hello, Perl');
print "do_task: ", (defined $result ? $$result : 'undef'), "\n";

my @events;
my $set = $client->new_task_set;
for my $i (1 .. 3) {
    $set->add_task('perl.reverse' => "task-$i", {
        on_complete => sub { push @events, "complete ${$_[0]}" },
        on_status   => sub { push @events, "status $_[0]/$_[1]" },
    });
}
$set->add_task('perl.fail' => 'x', { on_fail => sub { push @events, 'fail' } });
$set->wait;
print "task set: ", join(', ', sort @events), "\n";

my $handle = $client->dispatch_background('perl.nobody', 'waits for a worker');
my $status = $client->get_status($handle);
printf "background: %s known=%d running=%d\n", $handle, $status->known ? 1 : 0, $status->running ? 1 : 0;
