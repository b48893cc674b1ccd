#!/usr/bin/env bash
# The real v5 blksnap module in a VM: builds (once, cached in .build-kernel/) a bzImage from
# Debian's linux-source-6.1 with the v5 patch and the blksnap module built in, and runs a
# script inside it under QEMU (TCG), returning the script's output and exit status.
#
#   scripts/kernel-vm.sh build
#   scripts/kernel-vm.sh run [--add HOST[=GUEST]]... [--param NAME=VALUE]... [--timeout S]
#                            [--memory MiB] [--console FILE] SCRIPT [ARG...]
#   scripts/kernel-vm.sh hz                 # CONFIG_HZ of the built kernel
#
# The patch: --patch FILE or BLKSNAP_KERNEL_PATCH, by default
# ../shared/kernel/blksnap-v5-linux-6.1.patch beside the checkout. Without it the script
# says how to get it and exits 77 (skipped); under CI=true a missing patch is an error (1).
#
# run: SCRIPT (a /bin/sh script) runs as /init's child with ARGs, in a busybox userland with
# proc, sysfs, devtmpfs and a tmpfs /tmp, cwd /tmp. Every --add file is copied into the
# initramfs (GUEST defaults to /usr/local/bin/NAME for executables, else /data/NAME), ELF
# files with the shared libraries ldd names and the dynamic loader. The script's stdout and
# stderr reach the host through a second serial port, so kernel messages (on the first, kept
# in --console FILE) never mix with them. Exit status: the script's; 124 when QEMU ran out of
# time; 125 when the guest died before the script ended (an oops, a panic); on an oops or
# BUG in the kernel log the script's status is kept but the log is printed to stderr.
# --param NAME=VALUE sets a blksnap module parameter (blksnap.NAME=VALUE on the command line).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${BLKSNAP_KERNEL_CACHE:-$root/.build-kernel}"
fragment="$root/scripts/kernel/vm.config"
patch_file="${BLKSNAP_KERNEL_PATCH:-}"

die() { echo "kernel-vm: $*" >&2; exit 1; }
log() { echo "kernel-vm: $*" >&2; }

find_patch() {
    if [ -z "$patch_file" ]; then
        local candidate
        for candidate in "$root/../shared/kernel/blksnap-v5-linux-6.1.patch" \
                         "$root/../../shared/kernel/blksnap-v5-linux-6.1.patch"; do
            if [ -f "$candidate" ]; then patch_file="$candidate"; break; fi
        done
    fi
    if [ -z "$patch_file" ] || [ ! -f "$patch_file" ]; then
        cat >&2 <<EOF
kernel-vm: no blksnap v5 kernel patch${patch_file:+ at $patch_file}.
  The lane needs the v5 series ported to Debian's linux-source-6.1 as one patch
  (shared/kernel/blksnap-v5-linux-6.1.patch in the project's shared folder). Put it beside
  the checkout as ../shared/kernel/, or point BLKSNAP_KERNEL_PATCH (or --patch) at it.
EOF
        if [ "${CI:-}" = true ]; then exit 1; fi
        echo "kernel-vm: skipped (no patch)" >&2
        exit 77
    fi
}

need_tools() {
    local missing=() tool
    for tool in qemu-system-x86_64 busybox cpio gzip make gcc flex bison bc; do
        command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
    done
    [ -f /usr/src/linux-source-6.1.tar.xz ] || missing+=(linux-source-6.1)
    if [ ${#missing[@]} -gt 0 ]; then
        local packages=(linux-source-6.1 build-essential bc flex bison libelf-dev libssl-dev
                        cpio busybox-static qemu-system-x86 xz-utils)
        if [ "$(id -u)" -eq 0 ]; then
            log "installing ${packages[*]} (missing: ${missing[*]})"
            DEBIAN_FRONTEND=noninteractive apt-get update >/dev/null
            DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${packages[@]}" </dev/null >/dev/null
        else
            die "missing ${missing[*]}; as root: apt-get install ${packages[*]}"
        fi
    fi
}

build_kernel() {
    find_patch
    need_tools
    local key
    key=$( { sha256sum < "$patch_file"; sha256sum < "$fragment"; echo layout-2; } | sha256sum | cut -c1-16)
    if [ -f "$cache/bzImage" ] && [ "$(cat "$cache/key" 2>/dev/null)" = "$key" ]; then
        return 0
    fi
    local start=$SECONDS src="$cache/linux"
    log "building the kernel (linux-source-6.1 + $(basename "$patch_file")), a few minutes"
    rm -rf "$src" "$cache/bzImage" "$cache/key"
    mkdir -p "$src"
    tar -xJf /usr/src/linux-source-6.1.tar.xz -C "$src" --strip-components=1
    (cd "$src" && patch -p1 -s < "$patch_file") || die "the patch does not apply to linux-source-6.1"
    (
        cd "$src"
        make -s tinyconfig
        scripts/kconfig/merge_config.sh -m .config "$fragment" >/dev/null
        make -s olddefconfig
        local option
        # Every option of the fragment must have survived olddefconfig.
        while read -r option; do
            grep -qx "$option" .config || die "kernel config lost $option (a dependency is missing)"
        done < <(grep -E '^CONFIG_[A-Z0-9_]+=' "$fragment")
        make -s -j"$(nproc)" bzImage
    ) > "$cache/build.log" 2>&1 || { tail -40 "$cache/build.log" >&2; die "kernel build failed (log: $cache/build.log)"; }
    cp "$src/arch/x86/boot/bzImage" "$cache/bzImage"
    grep -E '^CONFIG_HZ=' "$src/.config" | cut -d= -f2 > "$cache/hz"
    echo "$key" > "$cache/key"
    log "kernel built in $((SECONDS - start)) s (HZ=$(cat "$cache/hz"))"
}

# The VM runner (initramfs, /init, QEMU, exit status, oops detection): scripts/lib/vm.sh.
# shellcheck source=lib/vm.sh
source "$root/scripts/lib/vm.sh"
vm_option() {
    case "$1" in
        --patch) patch_file="$2" ;;
        *) return 1 ;;
    esac
}
vm_prepare() {
    build_kernel
    VM_KERNEL="$cache/bzImage"
    local p words=()
    for p in "${VM_PARAMS[@]}"; do words+=("blksnap.$p"); done
    VM_APPEND="${words[*]}"
}
run_vm() { vm_run "$@"; }

command="${1:-}"
shift || true
case "$command" in
    build)
        while [ $# -gt 0 ]; do case "$1" in --patch) patch_file="$2"; shift 2 ;; *) die "unknown option $1" ;; esac; done
        build_kernel; echo "$cache/bzImage" ;;
    run) run_vm "$@" ;;
    hz) build_kernel; cat "$cache/hz" ;;
    *) sed -n '2,24p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 64 ;;
esac
