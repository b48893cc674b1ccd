#!/usr/bin/env bash
# Veeam's out-of-tree blksnap modules (VAL-6.3.1, VAL-7.0) on Debian's STOCK kernel in a VM:
# fetches the stock kernel image (the vmlinuz, config and loop.ko of linux-image-$KVER),
# builds both branches' bdevfilter.ko + veeamblksnap.ko against linux-headers-$KVER (once,
# cached in .build-kernel/veeam/), and runs a script inside the stock kernel under QEMU (TCG)
# with one branch loaded, returning the script's output and exit status. The same runner
# as scripts/kernel-vm.sh (scripts/lib/vm.sh).
#
#   scripts/veeam-vm.sh build [--module val6|val7]  # default both branches
#   scripts/veeam-vm.sh run --module val6|val7 [--add HOST[=GUEST]]... [--param NAME=VALUE]...
#                           [--timeout S] [--memory MiB] [--console FILE] SCRIPT [ARG...]
#   scripts/veeam-vm.sh hz                          # CONFIG_HZ of the stock kernel
#   scripts/veeam-vm.sh kver                        # the stock kernel's release (uname -r)
#
# KVER: VEEAM_KVER, else what linux-headers-amd64 (installed; as root the script installs it)
# depends on, e.g. 6.1.0-57-amd64. The image comes from the host's /boot when
# linux-image-$KVER is installed, else from `apt-get download` + `dpkg-deb` (no install, no
# host initrd). The module sources: VEEAM_MODULES_DIR, by default ../shared/kernel/veeam
# beside the checkout (VAL-6.3.1/, VAL-7.0/; read-only, copied into the cache to build).
# Without them the script exits 77 (skipped); under CI=true that is an error (1).
#
# run: as scripts/kernel-vm.sh run (busybox userland, the script's output on the second
# serial port, exit status the script's, 124 on timeout, 125 when the guest died or a module
# failed to load), but first /init insmods loop.ko (CONFIG_BLK_DEV_LOOP=m), bdevfilter.ko,
# then veeamblksnap.ko with the --param NAME=VALUE words as its module parameters (e.g.
# --param diff_storage_minimum=8192). The guest has the modules under
# /lib/modules/$KVER/{kernel/drivers/block,extra}/ (plus ext4 and its dependencies under kernel/, not loaded) with a modules.dep (busybox modprobe
# reloads them: `rmmod veeamblksnap; modprobe veeamblksnap NAME=VALUE`), and the stock config
# at /boot/config-$KVER. After the script /init writes dmesg to the console log (--console
# FILE), where a WARNING, BUG, Oops, call trace or panic counts as an oops.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${BLKSNAP_KERNEL_CACHE:-$root/.build-kernel}"
veeam_dir="${VEEAM_MODULES_DIR:-}"
kver="${VEEAM_KVER:-}"
branches=(VAL-6.3.1 VAL-7.0)
# ext4 and what it needs, taken from the stock image for tests on a real filesystem.
ext4_modules=(lib/crc16.ko crypto/crc32c_generic.ko fs/mbcache.ko fs/jbd2/jbd2.ko fs/ext4/ext4.ko)

die() { echo "veeam-vm: $*" >&2; exit 1; }
log() { echo "veeam-vm: $*" >&2; }

# val6 | val7 | VAL-6.3.1 | VAL-7.0 -> the branch directory name
branch_of() {
    case "$1" in
        val6|VAL-6.3.1|6|6.3.1) echo VAL-6.3.1 ;;
        val7|VAL-7.0|7|7.0) echo VAL-7.0 ;;
        *) die "unknown module branch $1 (val6 or val7)" ;;
    esac
}

find_sources() {
    if [ -z "$veeam_dir" ]; then
        local candidate
        for candidate in "$root/../shared/kernel/veeam" "$root/../../shared/kernel/veeam"; do
            if [ -d "$candidate/VAL-7.0/module" ]; then veeam_dir="$(cd "$candidate" && pwd)"; break; fi
        done
    fi
    local b ok=1
    for b in "${branches[@]}"; do [ -f "$veeam_dir/$b/module/Makefile" ] || ok=0; done
    if [ -z "$veeam_dir" ] || [ "$ok" -ne 1 ]; then
        cat >&2 <<EOF
veeam-vm: no Veeam module sources${veeam_dir:+ in $veeam_dir}.
  The stock-kernel lane needs shared/kernel/veeam/{VAL-6.3.1,VAL-7.0}/module from the
  project's shared folder beside the checkout (../shared/kernel/veeam), or VEEAM_MODULES_DIR.
EOF
        if [ "${CI:-}" = true ]; then exit 1; fi
        echo "veeam-vm: skipped (no module sources)" >&2
        exit 77
    fi
}

apt_install() {
    [ "$(id -u)" -eq 0 ] || die "missing $*; as root: apt-get install $*"
    log "installing $*"
    DEBIAN_FRONTEND=noninteractive apt-get update >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" </dev/null >/dev/null
}

need_tools() {
    local missing=() tool
    for tool in qemu-system-x86_64 busybox cpio gzip make gcc strip dpkg-deb; do
        command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
    done
    [ -n "$kver" ] || dpkg-query -W -f='${Status}' linux-headers-amd64 2>/dev/null | grep -q 'ok installed' \
        || missing+=(linux-headers-amd64)
    if [ ${#missing[@]} -gt 0 ]; then
        log "missing: ${missing[*]}"
        apt_install linux-headers-amd64 build-essential cpio busybox-static qemu-system-x86
    fi
    if [ -z "$kver" ]; then
        kver=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 | grep -oE 'linux-headers-[^ ,]+' | head -1)
        kver="${kver#linux-headers-}"
        [ -n "$kver" ] || die "cannot tell the kernel release from linux-headers-amd64"
    fi
    if [ ! -f "/lib/modules/$kver/build/Makefile" ]; then
        apt_install "linux-headers-$kver"
        [ -f "/lib/modules/$kver/build/Makefile" ] || die "no /lib/modules/$kver/build after installing linux-headers-$kver"
    fi
}

headers_version() { dpkg-query -W -f='${Version}' "linux-headers-$kver" 2>/dev/null || echo unknown; }

# The stock kernel: $stock/vmlinuz, $stock/config, $stock/loop.ko (unless loop is built in).
fetch_kernel() {
    stock="$cache/stock/$kver"
    local version key
    version=$(headers_version)
    key="$kver $version layout-2"
    if [ -f "$stock/vmlinuz" ] && [ "$(cat "$stock/key" 2>/dev/null)" = "$key" ]; then return 0; fi
    local start=$SECONDS tmp
    rm -rf "$stock"
    mkdir -p "$stock"
    tmp="$cache/stock/download"
    rm -rf "$tmp"
    mkdir -p "$tmp"
    local tree="$tmp/x"
    if dpkg-query -W -f='${Status}' "linux-image-$kver" 2>/dev/null | grep -q 'ok installed' \
            && [ -f "/boot/vmlinuz-$kver" ]; then
        log "taking the installed linux-image-$kver"
        mkdir -p "$tree/boot" "$tree/lib/modules/$kver/kernel/drivers"
        cp "/boot/vmlinuz-$kver" "/boot/config-$kver" "$tree/boot/"
        cp -r "/lib/modules/$kver/kernel/drivers/block" "$tree/lib/modules/$kver/kernel/drivers/"
        local ko
        for ko in "${ext4_modules[@]}"; do
            mkdir -p "$tree/lib/modules/$kver/kernel/$(dirname "$ko")"
            cp "/lib/modules/$kver/kernel/$ko" "$tree/lib/modules/$kver/kernel/$ko"
        done
    else
        log "downloading linux-image-$kver ($version) and extracting vmlinuz, config, loop.ko"
        chmod 777 "$tmp"   # apt-get download runs as _apt where it can
        if ! (cd "$tmp" && apt-get download "linux-image-$kver=$version") >"$tmp/apt.log" 2>&1 \
           && ! (cd "$tmp" && apt-get download "linux-image-$kver") >>"$tmp/apt.log" 2>&1; then
            if [ "$(id -u)" -eq 0 ]; then
                DEBIAN_FRONTEND=noninteractive apt-get update >/dev/null 2>&1 || true
                (cd "$tmp" && apt-get download "linux-image-$kver") >>"$tmp/apt.log" 2>&1 || true
            fi
        fi
        local deb
        deb=$(ls "$tmp"/linux-image-"$kver"_*.deb 2>/dev/null | head -1)
        [ -n "$deb" ] || { cat "$tmp/apt.log" >&2; die "apt-get download linux-image-$kver failed"; }
        mkdir -p "$tree"
        local members=() ko
        for ko in "${ext4_modules[@]}"; do members+=("./lib/modules/$kver/kernel/$ko"); done
        dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tree" \
            "./boot/vmlinuz-$kver" "./boot/config-$kver" "./lib/modules/$kver/kernel/drivers/block" "${members[@]}" \
            || die "$deb lacks vmlinuz, config, drivers/block or the ext4 modules"
    fi
    cp "$tree/boot/vmlinuz-$kver" "$stock/vmlinuz"
    cp "$tree/boot/config-$kver" "$stock/config"
    if grep -qx 'CONFIG_BLK_DEV_LOOP=m' "$stock/config"; then
        local loop
        loop=$(find "$tree/lib/modules/$kver/kernel/drivers/block" -name 'loop.ko*' | head -1)
        [ -n "$loop" ] || die "CONFIG_BLK_DEV_LOOP=m but no loop.ko in linux-image-$kver"
        case "$loop" in
            *.ko) cp "$loop" "$stock/loop.ko" ;;
            *.ko.xz) xz -dc "$loop" > "$stock/loop.ko" ;;
            *.ko.zst) zstd -dcq "$loop" > "$stock/loop.ko" ;;
            *.ko.gz) gzip -dc "$loop" > "$stock/loop.ko" ;;
            *) die "unknown module compression: $loop" ;;
        esac
    fi
    local ko
    for ko in "${ext4_modules[@]}"; do
        mkdir -p "$stock/modules/$(dirname "$ko")"
        cp "$tree/lib/modules/$kver/kernel/$ko" "$stock/modules/$ko"
    done
    grep -E '^CONFIG_HZ=' "$stock/config" | cut -d= -f2 > "$stock/hz"
    rm -rf "$tmp"
    echo "$key" > "$stock/key"
    log "stock kernel $kver ready in $((SECONDS - start)) s (HZ=$(cat "$stock/hz"))"
}

# One branch's modules: $cache/veeam/BRANCH/{bdevfilter,veeamblksnap}.ko (debug info stripped).
build_branch() {
    local branch="$1" dir="$cache/veeam/$1" key
    key=$( {
        echo "$kver $(headers_version) layout-1"
        (cd "$veeam_dir/$branch" && find module -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
        gcc --version | head -1
    } | sha256sum | cut -c1-16)
    if [ -f "$dir/veeamblksnap.ko" ] && [ -f "$dir/bdevfilter.ko" ] && [ "$(cat "$dir/key" 2>/dev/null)" = "$key" ]; then
        return 0
    fi
    local start=$SECONDS
    rm -rf "$dir"
    mkdir -p "$dir"
    cp -r "$veeam_dir/$branch/module" "$dir/module"
    chmod -R u+w "$dir/module"
    make -C "/lib/modules/$kver/build" M="$dir/module" -j"$(nproc)" modules >"$dir/build.log" 2>&1 \
        || { tail -40 "$dir/build.log" >&2; die "$branch build failed (log: $dir/build.log)"; }
    local m
    for m in bdevfilter veeamblksnap; do
        [ -f "$dir/module/$m.ko" ] || die "$branch build made no $m.ko (log: $dir/build.log)"
        strip --strip-debug -o "$dir/$m.ko" "$dir/module/$m.ko"
    done
    echo "$key" > "$dir/key"
    log "$branch built in $((SECONDS - start)) s against $kver ($(grep -c 'warning:' "$dir/build.log" || true) warnings)"
}

prepare() {
    find_sources
    need_tools
    fetch_kernel
    local b
    for b in "$@"; do build_branch "$b"; done
}

# The runner (scripts/lib/vm.sh) with the stock kernel and one branch loaded.
# shellcheck source=lib/vm.sh
source "$root/scripts/lib/vm.sh"
module=""
vm_option() {
    case "$1" in
        --module) module="$(branch_of "$2")" ;;
        *) return 1 ;;
    esac
}
vm_prepare() {
    [ -n "$module" ] || die "run: --module val6|val7 is required"
    prepare "$module"
    VM_KERNEL="$stock/vmlinuz"
    VM_APPEND=""
    VM_OOPS='Oops|BUG:|WARNING:|Call Trace|Kernel panic'
    VM_OOPS_SHOW='Oops|BUG:|WARNING:|Kernel panic'
    # Loads loop (unless built in), bdevfilter, veeamblksnap with the --param words; a failed
    # insmod ends the guest with status 125 and insmod's message in the output.
    VM_INIT_PRE=$(cat <<'PRE'
vm_fail() { echo "veeam-vm: $* failed" > /dev/ttyS1; echo "@@LANE-EXIT 125" > /dev/ttyS1; sync; reboot -f; exit 125; }
kmod_dir=/lib/modules/$(uname -r)
if [ -f "$kmod_dir/kernel/drivers/block/loop.ko" ] && [ ! -d /sys/module/loop ]; then
    insmod "$kmod_dir/kernel/drivers/block/loop.ko" 2>/dev/ttyS1 || vm_fail "insmod loop.ko"
fi
insmod "$kmod_dir/extra/bdevfilter.ko" 2>/dev/ttyS1 || vm_fail "insmod bdevfilter.ko"
set --
while IFS= read -r arg; do set -- "$@" "$arg"; done < /lane/modparams
insmod "$kmod_dir/extra/veeamblksnap.ko" "$@" 2>/dev/ttyS1 || vm_fail "insmod veeamblksnap.ko $*"
PRE
)
    VM_INIT_POST=$(cat <<'POST'
echo "@@DMESG-BEGIN" > /dev/ttyS0
dmesg > /dev/ttyS0
echo "@@DMESG-END" > /dev/ttyS0
POST
)
}
vm_stage() {
    local stage="$1" mdir="$1/lib/modules/$kver"
    mkdir -p "$mdir/kernel/drivers/block" "$mdir/extra" "$stage/boot"
    : > "$mdir/modules.dep"
    if [ -f "$stock/loop.ko" ]; then
        cp "$stock/loop.ko" "$mdir/kernel/drivers/block/loop.ko"
        echo "kernel/drivers/block/loop.ko:" >> "$mdir/modules.dep"
    fi
    cp "$cache/veeam/$module/bdevfilter.ko" "$cache/veeam/$module/veeamblksnap.ko" "$mdir/extra/"
    printf '%s\n' "extra/bdevfilter.ko:" "extra/veeamblksnap.ko: extra/bdevfilter.ko" >> "$mdir/modules.dep"
    # ext4 (a module in Debian's kernel) for tests that need a real filesystem: not loaded at
    # boot; `modprobe ext4` in the guest loads it with its dependencies.
    local ko deps=()
    for ko in "${ext4_modules[@]}"; do
        mkdir -p "$mdir/kernel/$(dirname "$ko")"
        cp "$stock/modules/$ko" "$mdir/kernel/$ko"
        [ "$ko" = fs/ext4/ext4.ko ] || { echo "kernel/$ko:" >> "$mdir/modules.dep"; deps+=("kernel/$ko"); }
    done
    echo "kernel/fs/ext4/ext4.ko: ${deps[*]}" >> "$mdir/modules.dep"
    cp "$stock/config" "$stage/boot/config-$kver"
    if [ ${#VM_PARAMS[@]} -gt 0 ]; then printf '%s\n' "${VM_PARAMS[@]}"; fi > "$stage/lane/modparams"
}

command="${1:-}"
shift || true
case "$command" in
    build)
        selected=("${branches[@]}")
        while [ $# -gt 0 ]; do
            case "$1" in
                --module) selected=("$(branch_of "$2")"); shift 2 ;;
                *) die "unknown option $1" ;;
            esac
        done
        prepare "${selected[@]}"
        echo "$stock/vmlinuz"
        for b in "${selected[@]}"; do echo "$cache/veeam/$b"; done ;;
    run) vm_run "$@" ;;
    hz) need_tools; fetch_kernel; cat "$stock/hz" ;;
    kver) need_tools; echo "$kver" ;;
    *) sed -n '2,30p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 64 ;;
esac
