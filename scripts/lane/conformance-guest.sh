#!/bin/sh
# Inside the lane's VM (scripts/lane.sh): creates the fixed device layout on loop devices
# over tmpfs (two originals of 32 MiB, a storage device of 128 MiB) and runs the conformance
# runner on the real module. Arguments go to blksnap-conformance (--param NAME=VALUE...).
# The transcript is printed between @@TRANSCRIPT-BEGIN and @@TRANSCRIPT-END.
set -e
truncate -s 32M /tmp/orig0.img
truncate -s 32M /tmp/orig1.img
truncate -s 128M /tmp/store.img
i=0
for name in orig0 orig1 store; do
    [ -b /dev/loop$i ] || mknod /dev/loop$i b 7 $i
    losetup /dev/loop$i /tmp/$name.img
    i=$((i + 1))
done
status=0
blksnap-conformance --backend kernel --orig0 /dev/loop0 --orig1 /dev/loop1 --store /dev/loop2 --counts "$@" \
    > /tmp/transcript.txt 2> /tmp/runner.err || status=$?
echo "@@TRANSCRIPT-BEGIN"
cat /tmp/transcript.txt
echo "@@TRANSCRIPT-END"
cat /tmp/runner.err
echo "runner exit status $status"
exit $status
