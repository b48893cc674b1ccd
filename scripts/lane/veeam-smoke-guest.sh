#!/bin/sh
# Inside the stock-kernel VM (scripts/veeam-vm.sh run --module val6|val7): checks that the
# Veeam modules are loaded and usable — the kernel release, the control nodes, the module
# parameter, two 64 MiB loop devices on tmpfs with the stock loop.ko, the config file the
# tool reads HZ from — then unloads veeamblksnap and bdevfilter. Extra arguments are
# executables to run with --help (e.g. blksnapctl added with --add). Exit 0 when all passed.
fail=0
check() { # check NAME CMD...: runs CMD, prints its output and `ok NAME` or `FAIL NAME (status)`
    name=$1; shift
    "$@"; st=$?
    if [ "$st" -eq 0 ]; then echo "ok $name"; else echo "FAIL $name (status $st)"; fail=1; fi
}
echo "uname -r: $(uname -r)"
echo "modules: $(cut -d' ' -f1 /proc/modules | tr '\n' ' ')"
echo "version: $(cat /sys/module/veeamblksnap/version 2>/dev/null || echo '?')"
check nodes ls -l /dev/veeamblksnap
[ -e /dev/bdevfilter ] && ls -l /dev/bdevfilter
if [ -e /sys/class/veeamblksnap/major ]; then echo "major: $(cat /sys/class/veeamblksnap/major)"; fi
echo "diff_storage_minimum: $(cat /sys/module/veeamblksnap/parameters/diff_storage_minimum)"
check config grep -E '^CONFIG_HZ=' "/boot/config-$(uname -r)"
for i in 0 1; do
    truncate -s 64M /tmp/disk$i.img
    dev=$(losetup -f) || { echo "FAIL losetup -f"; fail=1; continue; }
    check "losetup $dev" losetup "$dev" /tmp/disk$i.img
    echo "$dev: $(cat /sys/block/${dev#/dev/}/size) sectors"
done
check "write loop0" dd if=/dev/zero of=/dev/loop0 bs=1M count=1 conv=fsync 2>/dev/null
losetup -a
for tool in "$@"; do
    [ -n "$tool" ] || continue   # the runner passes one empty argument when given none
    check "$tool --help" sh -c "$tool --help > /tmp/help.txt 2>&1"
    head -5 /tmp/help.txt
done
for i in 0 1; do losetup -d /dev/loop$i; done
check "rmmod veeamblksnap" rmmod veeamblksnap
check "rmmod bdevfilter" rmmod bdevfilter
echo "modules after rmmod: $(cut -d' ' -f1 /proc/modules | tr '\n' ' ')"
check "modprobe veeamblksnap" modprobe veeamblksnap diff_storage_minimum=4096
echo "diff_storage_minimum after modprobe: $(cat /sys/module/veeamblksnap/parameters/diff_storage_minimum 2>/dev/null)"
exit $fail
