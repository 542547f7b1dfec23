#!/usr/bin/env bash
# Benchmarks of the generator and the start/stop helpers (issues 8, 18), of
# memory and disk per server, of boot at scale and of what stays beside
# each server (issue 18), as run by `make bench`. Everything runs on a tmpfs that this script mounts and always
# unmounts again; results are printed and written to build/bench.md.
#
# Prerequisites: root, overlayfs, XFS (xfsprogs), systemd's
# systemd-fstab-generator, systemd-nspawn (systemd-container), util-linux
# mount/umount/losetup, unshare, Go, and `make build
# standin` done (make bench does it). A `left4me` system user is created for the start helper when the
# host has none, and removed again at the end.
#
# Usage: tests/bench/run.sh [-quick] [driver flags, see tests/bench/main.go]
set -euo pipefail
cd "$(dirname "$0")/../.."
export CGO_ENABLED=0

die() {
	echo "bench: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "must run as root: it mounts a tmpfs and overlayfs and runs the helpers (try: sudo make bench)"
FSTAB_GEN=${FSTAB_GEN:-/usr/lib/systemd/system-generators/systemd-fstab-generator}
[ -x "$FSTAB_GEN" ] || die "$FSTAB_GEN is missing: the reference generator ships with systemd (apt-get install systemd)"
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || true
grep -qw overlay /proc/filesystems || die "overlayfs is not available in this kernel (modprobe overlay failed)"
for c in mount umount mountpoint unshare getent go losetup; do
	command -v "$c" >/dev/null || die "$c not found (util-linux and Go are required)"
done
# The density run keeps its files on XFS in a loop image (reflink copies);
# the scale run boots systemd in a container.
command -v mkfs.xfs >/dev/null || die "mkfs.xfs not found: the density benchmark needs it (apt-get install xfsprogs)"
grep -qw xfs /proc/filesystems || modprobe xfs 2>/dev/null || true
grep -qw xfs /proc/filesystems || die "this kernel has no XFS (modprobe xfs failed)"
command -v systemd-nspawn >/dev/null || die "systemd-nspawn not found: the scale benchmark needs it (apt-get install systemd-container)"
for b in left4me-generator left4me-prestart left4me-poststop srcds_run srcds_linux; do
	[ -x "build/$b" ] || die "build/$b missing: run make build (make bench does)"
done

# Everything below runs in a mount namespace of its own (see the left4me
# user below); mounts made here vanish with it.
if [ -z "${LEFT4ME_BENCH_NS:-}" ]; then
	exec env LEFT4ME_BENCH_NS=1 unshare --mount --propagation private "$0" "$@"
fi

scratch=$(mktemp -d /tmp/left4me-bench.XXXXXX)
cleanup() {
	set +e
	# The driver unmounts its overlays; this catches what a crash left.
	if mountpoint -q "$scratch"; then
		umount -R "$scratch" 2>/dev/null || umount -R -l "$scratch"
	fi
	rmdir "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# 12G: the update-cost run holds a 1.7 GiB installation four times over.
mount -t tmpfs -o mode=0755,size=12G left4me-bench "$scratch"
# The helpers run the server as the left4me user. A host without one gets
# one for this run only: in a private mount namespace (the script re-runs
# itself there), copies of /etc/passwd and /etc/group with the user are
# bound over the real ones, which stay untouched for everything else on
# the host (a test suite booting containers from / at the same time).
if ! getent passwd left4me >/dev/null; then
	uid=$(awk -F: '{used[$3] = 1} END {u = 999; while (u in used) u--; print u}' /etc/passwd /etc/group)
	{ cat /etc/passwd; echo "left4me:x:$uid:$uid:left4me (this benchmark only):/nonexistent:/usr/sbin/nologin"; } >"$scratch/passwd"
	{ cat /etc/group; echo "left4me:x:$uid:"; } >"$scratch/group"
	mount --bind "$scratch/passwd" /etc/passwd
	mount --bind "$scratch/group" /etc/group
fi

# A snapshot of the binaries on the tmpfs: byte-identical to build/, and
# stable even if build/ is rebuilt while the benchmark runs.
mkdir "$scratch/bin"
cp build/left4me-generator build/left4me-prestart build/left4me-poststop "$scratch/bin/"
go build -trimpath -o "$scratch/bin/bench" ./tests/bench
go build -trimpath -ldflags='-s -w' -o "$scratch/bin/noop" ./tests/bench/noop

quick=()
if [ "${1:-}" = -quick ]; then
	quick=(-quick)
	shift
fi
"$scratch/bin/bench" -scratch "$scratch" -bin "$scratch/bin" -fstab-gen "$FSTAB_GEN" \
	-o build/bench.md "${quick[@]}" "$@"

# Go benchmarks of the hot functions (spec parsing, unit rendering, one
# generator pass in-process), with their temporary files on the tmpfs.
benchtime=1s
[ ${#quick[@]} -eq 0 ] || benchtime=100ms
mkdir "$scratch/tmp"
{
	printf '\n### go test -bench (spec, units, generator)\n\n```\n'
	TMPDIR="$scratch/tmp" go test -run '^$' -bench . -benchmem -benchtime "$benchtime" ./spec ./units ./generator
	printf '```\n'
} | tee -a build/bench.md
# What a game update stores (issue 14): built from the tree, with the
# stand-in steamcmd (make bench builds it).
go build -trimpath -o "$scratch/bin/updatecost" ./tests/bench/updatecost
cp build/left4me build/steamcmd "$scratch/bin/"
updflags=()
[ ${#quick[@]} -eq 0 ] || updflags=(-files 2000 -vpks 1 -vpk-mb 32)
{
	echo
	"$scratch/bin/updatecost" -scratch "$scratch/update" -bin "$scratch/bin" "${updflags[@]}"
} | tee -a build/bench.md
# Memory and disk of N servers on one installation against a copy each
# (issue 18), in a sparse XFS image on disk (removed at the end).
go build -trimpath -o "$scratch/bin/density" ./tests/bench/density
cp build/srcds_run build/srcds_linux "$scratch/bin/"
denflags=()
[ ${#quick[@]} -eq 0 ] || denflags=(-lib-mb 32 -vpk-mb 32 -n 1,3 -rounds 1)
"$scratch/bin/density" -bin "$scratch/bin" -image-dir "${DENSITY_DIR:-/var/tmp}" "${denflags[@]}" | tee -a build/bench.md
# Boot at scale and what stays beside each server, in a systemd container
# (make install into its root, as the end-to-end tests do).
go build -trimpath -o "$scratch/bin/scale" ./tests/bench/scale
mkdir "$scratch/scale"
scaleflags=()
[ ${#quick[@]} -eq 0 ] || scaleflags=(-n 3 -rounds 1 -idle 5s)
"$scratch/bin/scale" -scratch "$scratch/scale" -repo . "${scaleflags[@]}" | tee -a build/bench.md
echo "bench: report written to build/bench.md" >&2
