# shellcheck shell=bash
# The VM runner shared by scripts/kernel-vm.sh (the patched v5 kernel) and
# scripts/veeam-vm.sh (Debian's stock kernel with Veeam's out-of-tree modules): the busybox
# initramfs with the --add'ed files and their shared libraries, the /init that runs SCRIPT
# with its output on the second serial port, QEMU under TCG, the exit status marker and the
# oops detection. Sourced, not run.
#
# vm_run [--add HOST[=GUEST]]... [--param NAME=VALUE]... [--timeout S] [--memory MiB]
#        [--console FILE] SCRIPT [ARG...]
#
# The caller defines (before calling vm_run):
#   vm_option OPT VALUE   optional; returns 0 when it took a caller-specific option (two words)
#   vm_prepare            builds/locates the kernel; sets VM_KERNEL (image), VM_APPEND (extra
#                         kernel command line words) and may set VM_INIT_PRE / VM_INIT_POST
#                         (shell text of /init before and after the script), VM_OOPS (the
#                         extended regular expression of console lines that count as an oops)
#                         and VM_OOPS_SHOW (where the printed excerpts start); reads VM_PARAMS
#                         (the --param NAME=VALUE words)
#   vm_stage STAGE        optional; copies the caller's own files into the initramfs tree
# and die / log. Exit status of vm_run: the script's; 124 when QEMU ran out of time; 125 when
# the guest died before the script ended; on an oops in the kernel log the script's status is
# kept but the log is printed to stderr.

# Copies an ELF file's shared libraries and loader into the staging tree.
copy_libraries() {
    local file="$1" stage="$2" lib
    for lib in $(ldd "$file" 2>/dev/null | grep -oE '/[^ ]+' | sort -u); do
        [ -e "$stage$lib" ] && continue
        mkdir -p "$stage$(dirname "$lib")"
        cp -L "$lib" "$stage$lib"
    done
}

vm_run() {
    local adds=() timeout=600 memory=2048 console=""
    VM_PARAMS=()
    VM_KERNEL="" VM_APPEND="" VM_INIT_PRE="" VM_INIT_POST="" VM_OOPS='Oops|BUG:|Call Trace|Kernel panic'
    VM_OOPS_SHOW='Oops|BUG:|Kernel panic'
    while [ $# -gt 0 ]; do
        case "$1" in
            --add) adds+=("$2"); shift 2 ;;
            --param) VM_PARAMS+=("$2"); shift 2 ;;
            --timeout) timeout="$2"; shift 2 ;;
            --memory) memory="$2"; shift 2 ;;
            --console) console="$2"; shift 2 ;;
            --) shift; break ;;
            -*)
                if declare -F vm_option >/dev/null && [ $# -ge 2 ] && vm_option "$1" "$2"; then shift 2
                else die "unknown option $1"; fi ;;
            *) break ;;
        esac
    done
    [ $# -ge 1 ] || die "run: no script given"
    local script="$1"; shift
    [ -f "$script" ] || die "run: no script $script"
    vm_prepare

    local work
    work=$(mktemp -d "${TMPDIR:-/tmp}/kernel-vm.XXXXXX")
    trap 'rm -rf "${work:-}"; trap - RETURN' RETURN
    local stage="$work/root"
    mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,proc,sys,dev,tmp,data,lane,etc,root}
    cp /usr/bin/busybox "$stage/bin/busybox"
    local applet
    for applet in $(busybox --list-full); do
        [ -e "$stage/$applet" ] || ln -s /bin/busybox "$stage/$applet"
    done
    if declare -F vm_stage >/dev/null; then vm_stage "$stage"; fi
    local entry host guest
    for entry in "${adds[@]}"; do
        host="${entry%%=*}"
        if [ "$entry" != "$host" ]; then guest="${entry#*=}";
        elif [ -x "$host" ]; then guest="/usr/local/bin/$(basename "$host")";
        else guest="/data/$(basename "$host")"; fi
        [ -e "$host" ] || die "--add: no file $host"
        mkdir -p "$stage$(dirname "$guest")"
        rm -f "$stage$guest"
        cp -L "$host" "$stage$guest"
        if head -c4 "$host" | grep -q $'\x7fELF'; then copy_libraries "$host" "$stage"; fi
    done
    cp "$script" "$stage/lane/script"
    printf '%s\n' "$@" > "$stage/lane/args"
    echo 'root:x:0:0:root:/root:/bin/sh' > "$stage/etc/passwd"
    echo 'root:x:0:' > "$stage/etc/group"
    {
        cat <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp
export PATH=/usr/local/bin:/bin:/sbin:/usr/bin:/usr/sbin HOME=/root TMPDIR=/tmp
stty -F /dev/ttyS1 raw -echo 2>/dev/null
cd /tmp
INIT
        [ -z "$VM_INIT_PRE" ] || printf '%s\n' "$VM_INIT_PRE"
        cat <<'INIT'
set --
while IFS= read -r arg; do set -- "$@" "$arg"; done < /lane/args
/bin/sh /lane/script "$@" > /dev/ttyS1 2>&1 < /dev/null
echo "@@LANE-EXIT $?" > /dev/ttyS1
INIT
        [ -z "$VM_INIT_POST" ] || printf '%s\n' "$VM_INIT_POST"
        cat <<'INIT'
sync
reboot -f
INIT
    } > "$stage/init"
    chmod +x "$stage/init"
    mknod -m 600 "$stage/dev/console" c 5 1
    (cd "$stage" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -1 > "$work/initrd.gz"

    local out="$work/out" con="${console:-$work/console}"
    : > "$out"
    local status=0
    timeout "$timeout" qemu-system-x86_64 -accel tcg -smp 1 -m "$memory" \
        -kernel "$VM_KERNEL" -initrd "$work/initrd.gz" \
        -append "console=ttyS0 panic=-1 tsc=unstable loglevel=3 $VM_APPEND" \
        -nographic -no-reboot -nic none -vga none -fw_cfg name=etc/sercon-port,string=0 \
        -serial "file:$con" -serial "file:$out" -monitor none \
        </dev/null >/dev/null 2>"$work/qemu.err" || status=$?
    tr -d '\r' < "$out" > "$out.clean"
    local marker
    marker=$(grep -a '^@@LANE-EXIT ' "$out.clean" | tail -1 | cut -d' ' -f2 || true)
    grep -av '^@@LANE-EXIT ' "$out.clean" || true
    if grep -aqE "$VM_OOPS" "$con"; then
        echo "kernel-vm: the kernel logged an oops/BUG/panic:" >&2
        # The excerpt is informative only: no match (e.g. a bare Call Trace) must not end the
        # caller under set -e -o pipefail.
        { tr -d '\r' < "$con" | grep -aB2 -A30 -E "$VM_OOPS_SHOW|Call Trace" | head -60 >&2; } || true
    fi
    if [ -n "$marker" ]; then return "$marker"; fi
    if [ "$status" -eq 124 ]; then echo "kernel-vm: QEMU ran out of time (${timeout} s)" >&2; return 124; fi
    echo "kernel-vm: the guest ended before the script did (QEMU status $status)" >&2
    tail -20 "$work/qemu.err" >&2 || true
    tr -d '\r' < "$con" | tail -30 >&2
    return 125
}
