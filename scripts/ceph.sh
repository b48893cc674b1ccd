#!/usr/bin/env bash
# A single-node Ceph with the S3 gateway (RADOS Gateway), for the object-store tests.
#
#   scripts/ceph.sh start DIR   # monitor, one memstore OSD, radosgw on 127.0.0.1:7480; prints the env
#   scripts/ceph.sh env DIR     # prints the AWS_* environment of the cluster in DIR again
#   scripts/ceph.sh stop DIR    # radosgw, then the OSD, then the monitor (SIGTERM; SIGKILL after 10 s)
#   scripts/ceph.sh kill-rgw DIR   # SIGKILLs the cluster's radosgw and returns once it is gone (fault tests)
#   scripts/ceph.sh start-rgw DIR  # starts radosgw again, same configuration and port; returns once S3 answers
#
# Everything lives in DIR (configuration, monitor store, logs, sockets, pids); nothing listens
# beyond 127.0.0.1. The daemons run in the foreground in their own sessions with their pids kept
# in DIR/pids (a daemonised radosgw exits 0 even when its start fails). The OSD keeps its
# objects in memory (memstore): they are gone once it stops, so keep test data small.
# The recipe and its pitfalls: /work/shared/ceph/README.md, summed up in docs/ci.md.
#
# Ports: CEPH_MON_PORT (3300, msgr v2), CEPH_MON_V1_PORT (6789), CEPH_RGW_PORT (7480).
# The S3 user has fixed test keys (below): this cluster is for tests only.
# Needs Debian's ceph-mon ceph-osd radosgw ceph-common (scripts/install-deps.sh installs them).
set -euo pipefail

readonly ACCESS_KEY=BLKSNAPTESTACCESSKEY
readonly SECRET_KEY=blksnapTestSecretKey0123456789abcdefghij
readonly USER_ID=blksnap-test
mon_port=${CEPH_MON_PORT:-3300}
mon_v1_port=${CEPH_MON_V1_PORT:-6789}
rgw_port=${CEPH_RGW_PORT:-7480}

die() { echo "ceph.sh: $*" >&2; exit 1; }
usage() { die "usage: scripts/ceph.sh start|stop|env|kill-rgw|start-rgw DIR"; }

# Milliseconds since the epoch, for the timings printed.
now_ms() { date +%s%3N; }

# True while PID runs (a zombie does not: `kill -0` succeeds on zombies).
alive() {
    local state
    state=$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null) || return 1
    [[ -n "$state" && "$state" != Z && "$state" != X ]]
}

# wait_for SECONDS WHAT COMMAND...: runs COMMAND every 0.1 s until it succeeds.
wait_for() {
    local limit=$1 what=$2; shift 2
    local deadline=$(( $(now_ms) + limit * 1000 ))
    until "$@" >/dev/null 2>&1; do
        if (( $(now_ms) > deadline )); then
            die "$what: not ready after ${limit} s; see the logs in $dir/log"
        fi
        sleep 0.1
    done
}

# run_daemon NAME COMMAND...: starts COMMAND in its own session, pid in DIR/pids/NAME. The
# daemon keeps no descriptor of ours beyond its log: an inherited pipe (a caller reading our
# output to its end) would otherwise stay open as long as the daemon runs.
run_daemon() {
    local name=$1; shift
    (
        for fd in /proc/$BASHPID/fd/*; do
            fd=${fd##*/}
            if (( fd > 2 )); then eval "exec $fd>&-"; fi
        done
        # A caller's blocked or ignored signals are inherited (a test process spawning from a
        # worker thread blocks SIGTERM): unblock all and restore the defaults, or the daemons
        # ignore the SIGTERM of `stop` and take SIGKILL 10 s later each.
        exec setsid perl -e 'use POSIX; sigprocmask(SIG_SETMASK, POSIX::SigSet->new) or die "sigprocmask: $!";
            $SIG{$_} = "DEFAULT" for qw(PIPE TERM INT HUP); exec { $ARGV[0] } @ARGV or die "exec $ARGV[0]: $!"' "$@"
    ) </dev/null >"$dir/log/$name.out" 2>&1 &
    echo $! >"$dir/pids/$name"
}

# Fails unless the daemon NAME still runs (it exits at once on a bad configuration).
check_alive() {
    alive "$(cat "$dir/pids/$1")" || die "$1 exited during start-up; its output: $dir/log/$1.out"
}

print_env() {
    cat <<ENV
export AWS_ENDPOINT_URL=http://127.0.0.1:$rgw_port
export AWS_REGION=default
export AWS_ACCESS_KEY_ID=$ACCESS_KEY
export AWS_SECRET_ACCESS_KEY=$SECRET_KEY
ENV
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
    for tool in ceph-mon ceph-osd radosgw ceph monmaptool radosgw-admin curl; do
        command -v "$tool" >/dev/null || die "no $tool: install Debian's ceph-mon ceph-osd radosgw ceph-common (scripts/install-deps.sh as root)"
    done
    [[ -e "$dir/pids" ]] && die "$dir already holds a cluster: run 'scripts/ceph.sh stop $dir' first"
    for port in "$mon_port" "$mon_v1_port" "$rgw_port"; do
        port_free "$port" || die "port $port on 127.0.0.1 is taken (another cluster?): stop it or set CEPH_MON_PORT/CEPH_MON_V1_PORT/CEPH_RGW_PORT"
    done
    local started
    started=$(now_ms)
    mkdir -p "$dir"/{log,run,pids,mon,osd/ceph-0,rgw}
    local fsid osd_uuid
    fsid=$(cat /proc/sys/kernel/random/uuid)
    osd_uuid=$(cat /proc/sys/kernel/random/uuid)
    cat >"$dir/ceph.conf" <<CONF
[global]
fsid = $fsid
mon_host = [v2:127.0.0.1:$mon_port,v1:127.0.0.1:$mon_v1_port]
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
ms_bind_ipv6 = false
# auth none: radosgw insists on a secure monitor connection unless crc is allowed too.
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
ms_mon_client_mode = crc secure
client_mount_timeout = 30
osd_objectstore = memstore
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
osd_crush_chooseleaf_type = 0
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
mon_max_pg_per_osd = 1000
# Each pool radosgw creates waits for a paxos proposal: 1 s by default.
paxos_propose_interval = 0.1
# The monitor shuts itself down below 5 % free disk by default.
mon_data_avail_warn = 2
mon_data_avail_crit = 1
run_dir = $dir/run
pid_file = $dir/run/\$name.pid
admin_socket = $dir/run/\$name.asok
log_file = $dir/log/\$name.log
mon_cluster_log_file = $dir/log/cluster.log
mon_data = $dir/mon/\$cluster-\$id
osd_data = $dir/osd/\$cluster-\$id
rgw_data = $dir/rgw/\$cluster-\$id

[client.rgw.test]
rgw_frontends = beast endpoint=127.0.0.1:$rgw_port
# Aborted and overwritten data is collected after 2 h by default: RAM, with memstore.
rgw_gc_obj_min_wait = 60
rgw_gc_processor_period = 60
rgw_exit_timeout_secs = 5
CONF
    export CEPH_CONF="$dir/ceph.conf"

    monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon_port,v1:127.0.0.1:$mon_v1_port]" "$dir/monmap" >/dev/null
    ceph-mon --mkfs -i a --monmap "$dir/monmap" >"$dir/log/mon-mkfs.out" 2>&1 || die "ceph-mon --mkfs failed: $dir/log/mon-mkfs.out"
    run_daemon mon ceph-mon -i a -f
    wait_for 30 "monitor" ceph --connect-timeout 5 quorum_status
    check_alive mon
    local mon_ready
    mon_ready=$(now_ms)

    local id
    id=$(ceph osd new "$osd_uuid")
    [[ "$id" == 0 ]] || die "ceph osd new gave id '$id', expected 0"
    ceph-osd -i 0 --mkfs --osd-uuid "$osd_uuid" >"$dir/log/osd-mkfs.out" 2>&1 || die "ceph-osd --mkfs failed: $dir/log/osd-mkfs.out"
    run_daemon osd ceph-osd -i 0 -f
    wait_for 60 "OSD" bash -c "ceph osd dump -f json | grep -q '\"up\":1'"
    check_alive osd
    local osd_ready
    osd_ready=$(now_ms)

    run_daemon rgw radosgw -n client.rgw.test -f
    wait_for 120 "radosgw" curl -sf -o /dev/null "http://127.0.0.1:$rgw_port/"
    check_alive rgw
    local rgw_ready
    rgw_ready=$(now_ms)

    radosgw-admin user create --uid="$USER_ID" --display-name="blksnap-swift tests" \
        --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >"$dir/log/user.out" 2>&1 \
        || die "radosgw-admin user create failed: $dir/log/user.out"
    local done_ms
    done_ms=$(now_ms)
    print_env >"$dir/env"
    echo "ceph.sh: S3 ready at http://127.0.0.1:$rgw_port in $(( done_ms - started )) ms" \
        "(monitor $(( mon_ready - started )), OSD $(( osd_ready - mon_ready )), radosgw $(( rgw_ready - osd_ready )), user $(( done_ms - rgw_ready )) ms)" >&2
    print_env
}

# stop_daemon NAME: SIGTERM, then SIGKILL after 10 s; returns once it is gone.
stop_daemon() {
    local file="$dir/pids/$1" pid
    [[ -f "$file" ]] || return 0
    pid=$(cat "$file")
    if alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        local deadline=$(( $(now_ms) + 10000 ))
        while alive "$pid" && (( $(now_ms) < deadline )); do sleep 0.05; done
        if alive "$pid"; then
            echo "ceph.sh: $1 (pid $pid) still runs 10 s after SIGTERM: SIGKILL" >&2
            kill -KILL "$pid" 2>/dev/null || true
            while alive "$pid"; do sleep 0.05; done
        fi
    fi
    rm -f "$file"
}

stop() {
    [[ -d "$dir/pids" ]] || { echo "ceph.sh: no cluster in $dir" >&2; return 0; }
    local started
    started=$(now_ms)
    # radosgw's shutdown needs the OSD: stopping both at once takes 5-120 s.
    stop_daemon rgw
    stop_daemon osd
    stop_daemon mon
    rmdir "$dir/pids"
    echo "ceph.sh: stopped in $(( $(now_ms) - started )) ms" >&2
}

# The radosgw of the cluster in DIR, killed without warning (a crash or a power cut of the
# gateway): SIGKILL, then wait until the process is gone so its port is free again.
kill_rgw() {
    local file="$dir/pids/rgw" pid
    [[ -f "$file" ]] || die "no radosgw pid in $dir/pids: no cluster started in $dir, or radosgw already killed"
    pid=$(cat "$file")
    alive "$pid" && kill -KILL "$pid" 2>/dev/null || true
    while alive "$pid"; do sleep 0.02; done
    rm -f "$file"
}

# radosgw again after kill-rgw, with the configuration `start` wrote (its port from DIR/env).
start_rgw() {
    [[ -f "$dir/ceph.conf" && -f "$dir/env" ]] || die "no cluster started in $dir"
    [[ -f "$dir/pids/rgw" ]] && alive "$(cat "$dir/pids/rgw")" && die "radosgw of $dir still runs: kill-rgw first"
    export CEPH_CONF="$dir/ceph.conf"
    local endpoint started
    endpoint=$(sed -n 's/^export AWS_ENDPOINT_URL=//p' "$dir/env")
    started=$(now_ms)
    run_daemon rgw radosgw -n client.rgw.test -f
    wait_for 120 "radosgw" curl -sf -o /dev/null "$endpoint/"
    check_alive rgw
    echo "ceph.sh: radosgw answers again at $endpoint in $(( $(now_ms) - started )) ms" >&2
}

[[ $# -eq 2 ]] || usage
command=$1
mkdir -p "$2"
dir=$(cd "$2" && pwd)
case "$command" in
    start) start ;;
    stop) stop ;;
    kill-rgw) kill_rgw ;;
    start-rgw) start_rgw ;;
    env) [[ -f "$dir/env" ]] || die "no cluster started in $dir"; cat "$dir/env" ;;
    *) usage ;;
esac
