#!/usr/bin/env bash
# Builds left4me_VERSION_ARCH.deb with dpkg-deb from a staged
# `make install DESTDIR=...` tree, so the package holds exactly what
# `make install` installs. Nothing is downloaded.
#
# Environment:
#   DEB_OUT        output directory (default: build)
#   VERSION        package version (default: from git describe)
#   DEB_MAINTAINER Maintainer: field
#   GO, MAKE       the go and make to use; GOARCH cross-builds (CGO is off)
set -euo pipefail
umask 022
cd "$(dirname "$0")/../.."

GO=${GO:-go}
MAKE=${MAKE:-make}
out=${DEB_OUT:-build}
maintainer=${DEB_MAINTAINER:-left4me maintainers <maintainers@left4me.invalid>}

die() {
	echo "packaging/deb/build.sh: $*" >&2
	exit 1
}

command -v dpkg-deb >/dev/null || die "dpkg-deb not found (Debian/Ubuntu: apt-get install dpkg)"

# deb_version maps git describe onto Debian version ordering:
#   v1.2.3           -> 1.2.3
#   v1.2.3-4-gabc    -> 1.2.3+git4.gabc    (after 1.2.3)
#   v1.3.0-rc1       -> 1.3.0~rc1          (before 1.3.0)
#   no tag           -> 0.0.0~git57.gabc   (before any release)
# A dirty tree appends .dirty.
deb_version() {
	if [ -n "${VERSION:-}" ]; then
		echo "${VERSION#v}"
		return
	fi
	local desc dirty="" sha n tag
	if desc=$(git describe --tags --match 'v[0-9]*' --long --dirty 2>/dev/null); then
		case $desc in *-dirty) dirty=.dirty desc=${desc%-dirty} ;; esac
		sha=${desc##*-g} desc=${desc%-g*}
		n=${desc##*-} tag=${desc%-*}
		tag=${tag#v} tag=${tag//-/\~}
		if [ "$n" = 0 ] && [ -z "$dirty" ]; then
			echo "$tag"
		else
			echo "$tag+git$n.g$sha$dirty"
		fi
	elif sha=$(git rev-parse --short HEAD 2>/dev/null); then
		git diff --quiet HEAD 2>/dev/null || dirty=.dirty
		echo "0.0.0~git$(git rev-list --count HEAD).g$sha$dirty"
	else
		echo "note: git cannot describe this tree (not a checkout, or not yours): version 0.0.0; set VERSION=" >&2
		echo "0.0.0"
	fi
}

# deb_arch maps GOARCH to Debian's architecture names.
deb_arch() {
	local goarch
	goarch=$("$GO" env GOARCH) || die "go env GOARCH failed"
	case $goarch in
	amd64 | arm64 | riscv64 | s390x | loong64) echo "$goarch" ;;
	386) echo i386 ;;
	ppc64le) echo ppc64el ;;
	mips64le) echo mips64el ;;
	mipsle) echo mipsel ;;
	arm) case $("$GO" env GOARM) in 5* | 6*) echo armel ;; *) echo armhf ;; esac ;;
	*) die "no Debian architecture for GOARCH=$goarch" ;;
	esac
}

version=$(deb_version)
arch=$(deb_arch)
dpkg --validate-version "$version" 2>/dev/null || die "invalid Debian version '$version' (set VERSION=)"
# A reproducible package: file times and the changelog date are the commit's.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root=$stage/root

echo "staging make install (version $version, $arch)"
# A private BUILD dir: a concurrent build (make test) could be rewriting
# build/ while install copies from it.
"$MAKE" --no-print-directory install BUILD="$stage/build" DESTDIR="$root" PREFIX=/usr GO="$GO" VERSION="$version" >"$stage/install.log" 2>&1 ||
	{ cat "$stage/install.log" >&2; die "make install failed"; }
# /etc/left4me/instances comes from tmpfiles.d at configure time, so the
# package owns nothing of left4me's in /etc. Its one conffile is
# needrestart's override (needrestart reads /etc/needrestart/conf.d only).
# rmdir, not rm -r: another file installed there someday must be packaged
# as a conffile instead of being dropped silently.
conffiles=(/etc/needrestart/conf.d/left4me.conf)
for f in "${conffiles[@]}"; do
	[ -f "$root$f" ] || die "make install did not install the conffile $f"
done
rmdir "$root/etc/left4me/instances" "$root/etc/left4me" ||
	die "make install put files into /etc/left4me; package them as conffiles"
if leftover=$(find "$root/etc" -type f | sed "s|^$root||" | grep -vxF -f <(printf '%s\n' "${conffiles[@]}")); then
	die "make install put files into /etc that are not conffiles: $leftover"
fi
[ -x "$root/usr/bin/left4me" ] || echo "note: no left4me CLI in this build"

install -Dm0644 packaging/deb/lintian-overrides "$root/usr/share/lintian/overrides/left4me"
doc=$root/usr/share/doc/left4me
install -Dm0644 packaging/example.yaml "$doc/examples/instance.yaml"
gzip -9n <README.md >"$doc/README.md.gz"
chmod 0644 "$doc/README.md.gz"
# A native package's changelog (lintian expects one).
{
	echo "left4me ($version) unstable; urgency=medium"
	echo
	echo "  * Built from $(git rev-parse --short HEAD 2>/dev/null || echo 'a source tree') with packaging/deb/build.sh."
	echo
	echo " -- $maintainer  $(LC_ALL=C date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n >"$doc/changelog.gz"
chmod 0644 "$doc/changelog.gz"
license=""
for f in LICENSE LICENSE.md LICENSE.txt COPYING; do
	[ -f "$f" ] && license=$f && break
done
if [ -n "$license" ]; then
	install -m0644 "$license" "$doc/copyright"
else
	echo "note: no LICENSE file in the tree, so the package has no copyright file"
fi

size=$(du -sk "$root" | cut -f1)
recommends=""
# The Linux dedicated server is a 32-bit x86 program.
if [ "$arch" = amd64 ]; then
	recommends="Recommends: libc6-i386, lib32gcc-s1 | lib32gcc1, lib32stdc++6, lib32z1"$'\n'
fi

mkdir -m0755 "$root/DEBIAN"
while IFS= read -r line; do
	line=${line//@VERSION@/$version}
	line=${line//@ARCH@/$arch}
	line=${line//@MAINTAINER@/$maintainer}
	line=${line//@SIZE@/$size}
	line=${line//@RECOMMENDS@/$recommends}
	printf '%s\n' "$line"
done <packaging/deb/control.in | sed '/^$/d' >"$root/DEBIAN/control"
printf '%s\n' "${conffiles[@]}" >"$root/DEBIAN/conffiles"
chmod 0644 "$root/DEBIAN/conffiles"
for s in postinst prerm postrm; do
	install -m0755 "packaging/deb/$s" "$root/DEBIAN/$s"
done
(cd "$root" && find . \( -path ./DEBIAN -o -path ./etc \) -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"
find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

mkdir -p "$out"
deb=$out/left4me_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "built $deb"
