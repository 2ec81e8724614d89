# The player's launcher: one per player JVM, started by dev.conductor.player.Launcher.
#
# Why it exists: the JVM can start a process only through its spawn helper, and a step has to
# lead a process group of its own, which takes 'setsid' as well: three program loads before
# the step's shell, each a millisecond or more of CPU on a virtual machine. This process forks
# children ahead ("spares": each in its own session and group, its stdin, stdout and stderr
# connected); a spare is told what to run and when, waits for that instant itself, notes when
# it woke, and becomes the step's shell. It also signals process groups and tells which still
# have members, which the JVM cannot do without starting a program each time.
#
# Usage: perl launcher.pl DIR [PIPE]. DIR is a folder only the player may use, for the FIFOs;
# PIPE what a spare's stdout and stderr hold (0: the kernel's size). The launcher's working
# folder and environment are those its children start with.
#
# Requests, one a line, on stdin:
#   spare ID             fork a spare; its FIFOs are DIR/ID.{out,err,in,go,st}
#   ack ID               the JVM has opened its ends: close ours (else no end-of-file would come)
#   drop ID              the JVM gave the spare up before opening its ends
#   signal ID SIG PGID.. send SIG to each group                      -> "signalled ID PGID.."
#   live ID PGID..       which groups still have a process           -> "live ID PGID.."
#   forget ID PGID..     the JVM is done with these groups (killed, or left to run on purpose)
#   remember ID PGID..   groups the JVM started itself, to kill as the others if it dies
# Replies, one a line, on stdout: "ready TIMED DROP" (1 or 0: whether a spare can wait for an
# instant, for which it needs Time::HiRes: without it the JVM asks for no spare; and whether a
# spare can leave real-time priority before it runs the step), "spare
# ID PID", "failed ID WHY", "exit PID STATUS" (STATUS as wait(2) gives it), "signalled ...",
# "live ...".
#
# A spare reads from its go FIFO: LENGTH "\n" and that many bytes of shell script; then a line
# with the instant to start at, in nanoseconds of CLOCK_MONOTONIC (0: at once). It waits for it,
# writes the time it woke (the same clock) and "\n" to its st FIFO, and becomes /bin/sh -c the
# script. End of file before its start: it exits with 125 and runs nothing. Spares inherit the
# launcher's scheduling: where the JVM gave the launcher real-time priority, a spare wakes at its
# instant before any ordinary process runs, and drops to normal priority right after it noted
# the time (with DROP 0 the JVM does not raise the launcher).
#
# End of file on stdin (the JVM is gone, whatever way it went): every group started or
# remembered here and not forgotten is killed, then this process exits.
use strict;
use warnings;
use POSIX ();
use Config;
use Fcntl qw(O_RDONLY O_WRONLY O_RDWR);

my $dir = shift @ARGV or die "usage: launcher.pl DIR [PIPE]\n";
my $pipe = shift @ARGV || 0;
my $F_SETPIPE_SZ = 1031;
my @FIFOS = qw(out err in go st);
my %keep;       # spare id -> { FIFO => handle } held open until the JVM has its ends
my %children;   # pid -> 1, every child not yet reaped
my %groups;     # pgid -> 1, every group started or remembered here and not yet forgotten
my $reaped = 0;

# A spare waits for its instant with Time::HiRes (perl's, not in every perl-base).
my $timed = eval { require Time::HiRes; Time::HiRes->import(qw(clock_nanosleep clock_gettime CLOCK_MONOTONIC TIMER_ABSTIME)); 1 } ? 1 : 0;
# sched_setscheduler(2) has no perl function: its number, from the system's headers where perl
# has them, else the two architectures whose numbers are known here.
my $SYS_sched_setscheduler = eval { require 'syscall.ph'; &SYS_sched_setscheduler() };
unless (defined $SYS_sched_setscheduler) {
    my $arch = $Config{archname};
    $SYS_sched_setscheduler = $arch =~ /^x86_64/ ? 144 : $arch =~ /^aarch64/ ? 119 : undef;
}
# Tried once here, where it changes nothing (this process runs at normal priority until the JVM
# raises it): a spare must never run a step at real-time priority.
sub to_normal { my $param = pack('i', 0); return syscall($SYS_sched_setscheduler, 0, 0, $param) == 0; }
my $drop = defined $SYS_sched_setscheduler && to_normal() ? 1 : 0;

$SIG{INT} = 'IGNORE';       # Ctrl-C in the player's terminal: the player decides what stops
$SIG{HUP} = 'IGNORE';
$SIG{PIPE} = 'IGNORE';      # a JVM gone mid-reply is seen as end of file on stdin
$SIG{CHLD} = sub { $reaped = 1 };
$SIG{TERM} = sub { finish(); };
$| = 1;

sub reply { my $line = join(' ', @_) . "\n"; syswrite(STDOUT, $line); }

sub finish {
    for my $pid (keys %groups) { kill 'KILL', -$pid; }
    for my $pid (keys %children) { kill 'KILL', $pid; }
    for my $id (keys %keep) { unlink map { "$dir/$id.$_" } @FIFOS; }
    POSIX::_exit(0);
}

sub reap {
    $reaped = 0;
    while ((my $pid = waitpid(-1, POSIX::WNOHANG())) > 0) {
        my $status = $?;
        delete $children{$pid};
        reply('exit', $pid, $status);
    }
}

sub close_spare {
    my ($id) = @_;
    my $h = delete $keep{$id} or return;
    close $_ for values %$h;
}

sub spare {
    my ($id) = @_;
    return reply('failed', $id, 'bad id') unless defined $id && $id =~ /^\w+$/;
    my (%h, %ends);
    my $undo = sub { my $why = shift; close $_ for values %h, values %ends; unlink map { "$dir/$id.$_" } @FIFOS; reply('failed', $id, $why); };
    for my $s (@FIFOS) {
        my $path = "$dir/$id.$s";
        return $undo->("mkfifo $path: $!") unless POSIX::mkfifo($path, 0600);
        # Read and write: an open that never waits for the other side, and the FIFO stays open
        # whatever order the JVM and the child open their ends in.
        return $undo->("open $path: $!") unless sysopen($h{$s}, $path, O_RDWR);
        # The child's own end, opened here, before the fork: the JVM may remove the path as
        # soon as it has opened its ends.
        return $undo->("open $path: $!") unless sysopen($ends{$s}, $path, $s eq 'in' || $s eq 'go' ? O_RDONLY : O_WRONLY);
    }
    if ($pipe) { fcntl($h{$_}, $F_SETPIPE_SZ, $pipe) for qw(out err); }   # refused: the kernel's size stays
    my $pid = fork;
    return $undo->("fork: $!") unless defined $pid;
    if ($pid == 0) { child(\%ends, \%h); }
    close $_ for values %ends;
    $keep{$id} = \%h;
    $children{$pid} = 1;
    $groups{$pid} = 1;
    reply('spare', $id, $pid);
}

sub read_line {
    my ($fh) = @_;
    my $line = '';
    while ($line !~ /\n\z/) {
        my $n = sysread($fh, $line, 1, length $line);
        return undef unless $n;
    }
    chomp $line;
    return $line;
}

sub read_bytes {
    my ($fh, $len) = @_;
    my $buf = '';
    while (length($buf) < $len) {
        my $n = sysread($fh, $buf, $len - length($buf), length $buf);
        return undef unless $n;
    }
    return $buf;
}

# Between the fork and the exec as little as can be: every page perl writes to here is copied.
sub child {
    my ($mine, $held) = @_;
    $SIG{$_} = 'DEFAULT' for qw(INT HUP CHLD TERM QUIT);     # PIPE stays ignored until the exec
    POSIX::sigprocmask(POSIX::SIG_SETMASK(), POSIX::SigSet->new());
    POSIX::setsid();
    # Nothing of the launcher's may stay open here: another spare's FIFO held by this child
    # would keep that spare's output from ever ending, and its own would keep its stdin and its
    # go FIFO from ever ending.
    for my $h ($held, values %keep) { close $_ for values %$h; }
    for my $t ([$mine->{out}, 1], [$mine->{err}, 2], [$mine->{in}, 0]) {
        POSIX::dup2(fileno($t->[0]), $t->[1]) or POSIX::_exit(126);
    }
    my ($go, $st) = ($mine->{go}, $mine->{st});
    my $len = read_line($go);
    POSIX::_exit(125) unless defined $len && $len =~ /^\d+$/;
    my $script = read_bytes($go, $len);
    POSIX::_exit(125) unless defined $script;
    my $at = read_line($go);                  # given up before its start: nothing runs
    POSIX::_exit(125) unless defined $at && $at =~ /^\d+$/;
    close $go;
    # clock_nanosleep returns early on a signal; an instant passed returns at once.
    while ($at > 0 && clock_gettime(CLOCK_MONOTONIC()) * 1e9 < $at) {
        clock_nanosleep(CLOCK_MONOTONIC(), $at, TIMER_ABSTIME());
    }
    my $woke = int(clock_gettime(CLOCK_MONOTONIC()) * 1e9);
    # Normal priority for what follows (the exec and the step itself): policy 0 is SCHED_OTHER.
    if ($drop && !to_normal()) {
        print STDERR "conductor: cannot leave real-time priority: $!\n";
        POSIX::_exit(126);
    }
    syswrite($st, "$woke\n");             # a JVM that no longer listens does not stop the step
    close $st;
    $SIG{PIPE} = 'DEFAULT';
    { no warnings 'exec'; exec { '/bin/sh' } '/bin/sh', '-c', $script; }
    print STDERR "conductor: cannot run /bin/sh: $!\n";
    POSIX::_exit(127);
}

reply('ready', $timed, $drop);
my $buf = '';
my $rin = '';
vec($rin, fileno(STDIN), 1) = 1;
while (1) {
    reap() if $reaped;
    my $rout = $rin;
    my $n = select($rout, undef, undef, 1);
    reap();
    next if $n <= 0;
    my $got = sysread(STDIN, $buf, 65536, length $buf);
    next if !defined $got && $!{EINTR};
    finish() unless $got;
    while ($buf =~ s/^([^\n]*)\n//) {
        my ($verb, $id, @args) = split / /, $1;
        next unless defined $verb;
        if ($verb eq 'spare') { spare($id); }
        elsif ($verb eq 'ack') { close_spare($id); }
        elsif ($verb eq 'drop') { close_spare($id); unlink map { "$dir/$id.$_" } @FIFOS; }
        elsif ($verb eq 'signal') {
            my ($sig, @groups) = @args;
            reply('signalled', $id, grep { /^\d+$/ && $_ > 1 && kill($sig, -$_) } @groups);
        }
        elsif ($verb eq 'forget') { delete @groups{@args}; }
        elsif ($verb eq 'remember') { $groups{$_} = 1 for grep { /^\d+$/ && $_ > 1 } @args; }
        elsif ($verb eq 'live') {
            reply('live', $id, grep { /^\d+$/ && $_ > 1 && kill(0, -$_) } @args);
        }
        else { reply('failed', defined $id ? $id : '-', "unknown request '$verb'"); }
    }
}
