#!/usr/bin/env bash
# Makes sure the Debian/Ubuntu packages blksnap-swift needs are installed.
#
# As root: installs whatever is missing (apt-get update + install, non-interactive).
# Not root: if something is missing, prints the exact command to run and exits 1.
# Nothing missing: does nothing (safe to run any number of times).
#
# Also checks that a Swift toolchain is on PATH (it is not an apt package: see
# https://www.swift.org/install/linux/ — Swift 6.x is required).
set -euo pipefail

# libudev-dev: the CUdev system library (device discovery); libfuse3-dev + fuse3: FUSE
# export of simulated devices; util-linux: losetup/partx for the loop-device tests;
# e2fsprogs: mkfs/chattr for file-backed storage tests; xfsprogs: the XFS case of the
# FUSE + loop end-to-end tests; pkg-config: lets SwiftPM find libudev and fuse3; mandoc:
# the man page lint test (mandoc -T lint); libzstd-dev + zlib1g-dev: the zstd and zlib
# compressed clusters of qcow2 backups (CZstd, CZlib); systemd: systemd-analyze verify of
# the units in contrib/systemd (SystemdUnitTests); ceph-mon ceph-osd radosgw ceph-common: the
# single-node Ceph with its S3 gateway that scripts/ceph.sh runs for the object-store tests
# (BlksnapObjectStoreTests); s3cmd: the stock S3 client those tests compare with.
BLKSNAP_APT_PACKAGES=(libudev-dev libfuse3-dev fuse3 util-linux e2fsprogs xfsprogs pkg-config mandoc libnbd-bin qemu-utils gnutls-bin openssl libzstd-dev zlib1g-dev systemd
    ceph-mon ceph-osd radosgw ceph-common s3cmd curl)

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
    for package in "${BLKSNAP_APT_PACKAGES[@]}"; do
        status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
        if [[ "$status" != "install ok installed" ]]; then
            missing+=("$package")
        fi
    done
else
    echo "install-deps: no dpkg-query (not Debian/Ubuntu?): cannot check packages; make sure these are installed: ${BLKSNAP_APT_PACKAGES[*]}" >&2
fi

if ((${#missing[@]} > 0)); then
    command=(apt-get install -y --no-install-recommends "${missing[@]}")
    if [[ "$(id -u)" -eq 0 ]]; then
        echo "install-deps: installing missing packages: ${missing[*]}" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update
        "${command[@]}" </dev/null
    else
        echo "install-deps: missing packages: ${missing[*]}" >&2
        echo "install-deps: run as root:" >&2
        echo "  apt-get update && DEBIAN_FRONTEND=noninteractive ${command[*]}" >&2
        exit 1
    fi
fi

if ! command -v swift >/dev/null 2>&1; then
    echo "install-deps: no 'swift' on PATH: install a Swift 6.x toolchain (https://www.swift.org/install/linux/)" >&2
    exit 1
fi
